package bench

import (
	"context"

	"github.com/gridsession/gridsession/schemas"
)

// record is one record that a source emits. Exactly one field is set.
type record struct {
	client  *schemas.Client
	session *schemas.Session
	event   *schemas.Event
}

// source produces the records of a run. run calls emit for every record in
// order, from the calling goroutine, until emit returns an error, and
// returns that error. Run gives every event its captureId, so a source
// leaves the event's CaptureID empty.
type source interface {
	run(ctx context.Context, emit func(record) error) error
}
