package publish

import "errors"

var (
	// ErrInvalidToken reports a subject token that ParseToken cannot
	// decode, or one that Token would not produce for any id.
	ErrInvalidToken = errors.New("publish: invalid subject token")

	// ErrInvalidSubject reports a subject that does not follow the layout
	// of Subjects, or one that NATS would reject.
	ErrInvalidSubject = errors.New("publish: invalid subject")

	// ErrTooLarge reports a message whose payload and headers exceed the
	// server's maximum payload.
	ErrTooLarge = errors.New("publish: message larger than the server's maximum payload")

	// ErrUndeliverable reports that Publish skipped messages that no retry
	// can deliver (an invalid subject or a message too large) and delivered
	// all the others. Callers must not retry the batch for it.
	ErrUndeliverable = errors.New("publish: undeliverable messages skipped")

	// ErrInvalidVersion reports a Gridsession-Version header that is
	// missing or not a decimal uint64.
	ErrInvalidVersion = errors.New("publish: missing or invalid version header")

	// ErrNotConnected reports a Publish on a connection that is not
	// connected, such as one that is reconnecting or closed.
	ErrNotConnected = errors.New("publish: nats connection is not connected")
)
