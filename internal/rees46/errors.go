package rees46

import "errors"

var (
	// ErrMissingColumn is returned when a file's header lacks a required
	// column.
	ErrMissingColumn = errors.New("rees46: missing column")
	// ErrDuplicateColumn is returned when a file's header names a column
	// twice.
	ErrDuplicateColumn = errors.New("rees46: duplicate column")
	// ErrEmptyFile is returned when a file has no header row.
	ErrEmptyFile = errors.New("rees46: empty file, the header row is missing")
	// ErrFileChanged is returned when a file's content changed between the
	// two passes of Scan.
	ErrFileChanged = errors.New("rees46: file changed while it was loaded")
	// ErrRebaseRange is returned when RebaseTo is too far from the files'
	// times for the shift to fit a time.Duration (about 292 years).
	ErrRebaseRange = errors.New("rees46: rebase time too far from the times in the files")
)
