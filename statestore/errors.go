package statestore

import "errors"

var (
	// ErrClosed is returned by every call on a Store after Close, and by
	// Commit of a batch whose store was closed first.
	ErrClosed = errors.New("statestore: store closed")

	// ErrBatchClosed is returned by Commit on a batch that was already
	// committed or closed.
	ErrBatchClosed = errors.New("statestore: batch already committed or closed")

	// ErrInvalidKey is returned when a tenant, table or id is empty or
	// contains a 0x00 byte, which would make the stored key ambiguous.
	ErrInvalidKey = errors.New("statestore: invalid key")

	// ErrInvalidOffset is returned when an offset's source is empty or the
	// offset is negative.
	ErrInvalidOffset = errors.New("statestore: invalid offset")

	// ErrCorrupt marks stored data that does not have the layout this package
	// writes, and corruption that Pebble detects on disk. Test for it with
	// errors.Is.
	ErrCorrupt = errors.New("statestore: corrupt data")

	// ErrUnsupportedFormat is returned by Open for a directory whose key
	// layout version differs from the one this package writes.
	ErrUnsupportedFormat = errors.New("statestore: unsupported key layout version")
)
