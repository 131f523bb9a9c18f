package processor

// SetSkipKafkaCommit makes the worker stop short of committing offsets to
// Kafka, as if it crashed right after each Pebble commit.
func (w *Worker) SetSkipKafkaCommit(skip bool) { w.skipKafkaCommit = skip }
