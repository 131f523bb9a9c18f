package access

import "errors"

var (
	// ErrUnauthorized is returned by Registry.Check for an unknown browser
	// id, a revoked key or a wrong access key. It is the same error for all
	// three, so that a caller cannot learn which browser ids exist.
	ErrUnauthorized = errors.New("access: invalid browser id or access key")

	// ErrForbidden is returned by Registry.Check when the browser id and
	// access key are valid but the key is not issued for the requested
	// tenant or space.
	ErrForbidden = errors.New("access: access key not valid for this tenant or space")

	// ErrRateLimited is returned by Registry.Check after too many failed
	// attempts for one browser id, until the failure window has passed.
	ErrRateLimited = errors.New("access: too many failed attempts for this browser id; try again later")

	// ErrNotStarted is returned by Registry.Check before Registry.Start has
	// returned without error.
	ErrNotStarted = errors.New("access: registry not started")

	// ErrClosed is returned by Registry.Check after Close, or after the
	// context given to Start has ended, because the registry then no longer
	// reads revocations.
	ErrClosed = errors.New("access: registry closed")

	// ErrKeyNotFound is returned by Revoke for a browser id that has no key.
	ErrKeyNotFound = errors.New("access: key not found")
)

// errNoBrokers is returned by Start and the admin functions when the broker
// list is empty.
var errNoBrokers = errors.New("access: no Kafka brokers configured")
