package ops

import "errors"

// ErrStopped is returned by Readiness.Live and Readiness.Check after
// Readiness.Stopped.
var ErrStopped = errors.New("ops: worker stopped")

// ErrNotAssigned is returned by Readiness.Check before the worker has been
// assigned partitions of every stage at least once.
var ErrNotAssigned = errors.New("ops: no partitions assigned yet")

// ErrRestoring is returned by Readiness.Check while a partition's state is
// being restored.
var ErrRestoring = errors.New("ops: restore in progress")
