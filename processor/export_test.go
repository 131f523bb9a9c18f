package processor

// SetSkipKafkaCommit makes the worker stop short of committing offsets to
// Kafka, as if it crashed right after each Pebble commit.
func (w *Worker) SetSkipKafkaCommit(skip bool) { w.skipKafkaCommit = skip }

// SetCommitFault makes each Kafka offset commit of the worker call fault
// first and fail with the error it returns.
func (w *Worker) SetCommitFault(fault func() error) { w.commitFault = fault }

// SetHooks replaces the hooks of a worker that has not started, keeping
// the test env's batch counters by calling both.
func SetHooks(w *Worker, h Hooks) {
	old := w.cfg.Hooks
	if h.OnBatch == nil {
		h.OnBatch = old.OnBatch
	}
	w.cfg.Hooks = h
}
