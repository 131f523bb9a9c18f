package client

import (
	"errors"
	"fmt"

	"github.com/gridsession/gridsession/publish"
)

var (
	// ErrInvalidRequest reports an invalid get or subscription, such as
	// one with a '.' in an id or an empty access key. The client checks
	// ids before it sends them, and a worker rejects an invalid request
	// with code 400, which returns ErrInvalidRequest too.
	ErrInvalidRequest = errors.New("client: invalid request")

	// ErrUnauthorized reports an unknown browser id, a revoked access key
	// or a wrong one. The three cases share one error, so that a caller
	// cannot learn which browser ids exist.
	ErrUnauthorized = errors.New("client: invalid browser id or access key")

	// ErrForbidden reports a valid access key that is not issued for the
	// client's tenant or for the requested space.
	ErrForbidden = errors.New("client: access key not valid for this tenant or space")

	// ErrRateLimited reports a browser id with too many failed checks in
	// the current window (5 a minute by default); retry after the window.
	ErrRateLimited = errors.New("client: too many failed attempts for this browser id")

	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("client: closed")

	// ErrStopped is returned by Subscribe after Stop.
	ErrStopped = errors.New("client: subscription stopped")

	// ErrSubscribed is returned by a second call of Subscribe.
	ErrSubscribed = errors.New("client: subscription already has a callback")
)

// QueryError is an error reply of a worker: the code it sent in the
// Nats-Service-Error-Code header, which follows the HTTP status of the
// same meaning, and its message. Errors.Is matches it against
// ErrInvalidRequest (400), ErrUnauthorized (401), ErrForbidden (403) and
// ErrRateLimited (429).
type QueryError struct {
	// Subject is the NATS subject the request went to.
	Subject string
	Code    int
	Message string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("client: request to %s failed with code %d: %s", e.Subject, e.Code, e.Message)
}

// Unwrap returns the sentinel error of the code, or nil for codes without
// one.
func (e *QueryError) Unwrap() error {
	switch e.Code {
	case publish.CodeBadRequest:
		return ErrInvalidRequest
	case publish.CodeUnauthorized:
		return ErrUnauthorized
	case publish.CodeForbidden:
		return ErrForbidden
	case publish.CodeRateLimited:
		return ErrRateLimited
	}
	return nil
}

// retryable reports whether the code means that another worker, or the
// same one a little later, may reply: the request reached a worker that
// no longer owns the partition (421) or one that cannot check keys yet
// (503).
func (e *QueryError) retryable() bool {
	return e.Code == publish.CodeMisdirected || e.Code == publish.CodeUnavailable
}
