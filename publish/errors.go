package publish

import "errors"

var (
	// ErrInvalidToken reports a subject token that ParseToken cannot
	// decode, or one that Token would not produce for any id.
	ErrInvalidToken = errors.New("publish: invalid subject token")

	// ErrInvalidSubject reports a subject that does not follow the layout
	// of Subjects, or one that NATS would reject. Publish returns it before
	// sending anything, and retrying the same batch cannot succeed.
	ErrInvalidSubject = errors.New("publish: invalid subject")

	// ErrInvalidVersion reports a Gridsession-Version header that is
	// missing or not a decimal uint64.
	ErrInvalidVersion = errors.New("publish: missing or invalid version header")

	// ErrNotConnected reports a Publish on a connection that is not
	// connected, such as one that is reconnecting or closed.
	ErrNotConnected = errors.New("publish: nats connection is not connected")
)
