package bench

import "errors"

var (
	// ErrNotObserved is returned by Run, together with the Summary, when
	// some sent events did not arrive on NATS within the drain timeout.
	ErrNotObserved = errors.New("bench: sent events not observed on nats")

	// ErrNoWorker is returned by Run when the probe events sent before the
	// run did not all arrive on NATS within the warm-up timeout, which
	// means that no worker consumes some partition or that it publishes
	// under other subjects.
	ErrNoWorker = errors.New("bench: probe events not observed on nats")
)
