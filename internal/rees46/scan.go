package rees46

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/gridsession/gridsession/schemas"
)

// progressInterval is how many rows Scan reads between progress calls.
const progressInterval = 1000

// fileIDBytes is how many bytes of a file's SHA-256 its captureIds carry:
// 8 bytes, 16 hex digits.
const fileIDBytes = 8

// capturePrefix starts every captureId, so that records of this loader are
// recognizable.
const capturePrefix = "rees46-"

// Summary counts what Scan read and emitted.
type Summary struct {
	Files int
	// Rows is the number of data rows read, accepted or rejected.
	Rows int
	// Sessions and Clients count the distinct sessions and clients that
	// have at least one accepted row.
	Sessions int
	Clients  int
	// Records counts the emitted records by kind.
	Records map[Kind]int
	// EventTypes counts the emitted events by eventType, including the
	// generated CONTACT_IDENTIFY events.
	EventTypes map[string]int
	// Rejected counts the rejected rows by reason: one of the Reject
	// constants, or "invalid " and a field name when another record field
	// failed validation.
	Rejected map[string]int
	// Shift is the offset added to every time. It is zero without rebasing.
	Shift time.Duration
	// MaxTime is the latest emitted event time, after the shift.
	MaxTime time.Time
}

// file is the content hash and latest row time of one input file, found by
// the first pass of Scan.
type file struct {
	path string
	sum  []byte
	// id is capturePrefix and the start of sum in hex, the first part of
	// every captureId of the file.
	id string
	// maxTime is the latest time of an accepted row. It is set only when
	// rebasing.
	maxTime time.Time
}

// Scan reads the CSV files in order and calls emit for every record, in row
// order: for each accepted row, a client record when the row's client is
// new to this Scan, a session record and a CONTACT_IDENTIFY event when its
// session is new, then the row's event. Rejected rows are counted in the
// Summary and skipped.
//
// Scan reads each file twice. The first pass hashes the file, checks its
// header and, when opts.RebaseTo is set, finds the latest time of an
// accepted row. The first pass checks all files before anything is emitted,
// so a missing file or column fails the load before it starts. Memory grows
// with the number of distinct sessions and clients, not with rows.
//
// Scan calls progress, when not nil, with the number of rows read so far,
// every 1000 rows and at the end of each file. It stops at the first error
// from emit, from reading a file or from ctx, and returns it with the
// Summary of what was done until then. Scan calls emit and progress from
// the calling goroutine.
func Scan(ctx context.Context, paths []string, opts Options, emit func(Record) error, progress func(rowsDone int)) (Summary, error) {
	if err := opts.Validate(); err != nil {
		return Summary{}, err
	}
	opts = opts.withDefaults()

	rebasing := !opts.RebaseTo.IsZero()
	files := make([]file, 0, len(paths))
	var latest time.Time
	for _, path := range paths {
		f, err := inspectFile(ctx, path, opts, rebasing)
		if err != nil {
			return Summary{}, err
		}
		files = append(files, f)
		if f.maxTime.After(latest) {
			latest = f.maxTime
		}
	}

	shift, err := rebaseShift(opts.RebaseTo, latest)
	if err != nil {
		return Summary{}, err
	}

	l := newLoader(opts, shift, emit, progress)
	for _, f := range files {
		if err := l.loadFile(ctx, f); err != nil {
			return l.result(), err
		}
	}
	return l.result(), nil
}

// rebaseShift returns the offset that moves latest onto to, or zero when
// not rebasing or when no row was accepted.
func rebaseShift(to, latest time.Time) (time.Duration, error) {
	if to.IsZero() || latest.IsZero() {
		return 0, nil
	}
	shift := to.Sub(latest)
	if shift == math.MaxInt64 || shift == math.MinInt64 {
		return 0, fmt.Errorf("%w: %s to %s", ErrRebaseRange, formatTime(latest), formatTime(to))
	}
	return shift, nil
}

// inspectFile is the first pass over one file: it hashes the content, checks
// the header and, when rebasing, finds the latest time of an accepted row.
func inspectFile(ctx context.Context, path string, opts Options, rebasing bool) (file, error) {
	f, err := os.Open(path)
	if err != nil {
		return file{}, fmt.Errorf("rees46: %w", err)
	}
	defer f.Close()

	h := sha256.New()
	content := io.TeeReader(f, h)
	rr, err := newRowReader(content)
	if err != nil {
		return file{}, fmt.Errorf("%w in %s", err, path)
	}

	var maxTime time.Time
	if rebasing {
		maxTime, err = latestRowTime(ctx, rr, newMapper(opts, 0))
		if err != nil {
			return file{}, fmt.Errorf("rees46: read %s: %w", path, err)
		}
	}
	if _, err := io.Copy(io.Discard, content); err != nil {
		return file{}, fmt.Errorf("rees46: read %s: %w", path, err)
	}

	sum := h.Sum(nil)
	return file{path: path, sum: sum, id: capturePrefix + hex.EncodeToString(sum[:fileIDBytes]), maxTime: maxTime}, nil
}

// latestRowTime returns the latest time of a row that Scan would accept.
func latestRowTime(ctx context.Context, rr *rowReader, m *mapper) (time.Time, error) {
	var latest time.Time
	for {
		if err := ctx.Err(); err != nil {
			return latest, err
		}
		fields, err := rr.next()
		if errors.Is(err, io.EOF) {
			return latest, nil
		}
		if errors.Is(err, errMalformedRow) {
			continue
		}
		if err != nil {
			return latest, err
		}

		r, reason := parseRow(rr.cols, fields)
		if reason != "" {
			continue
		}
		if _, reason := m.rowEvent(r, r.time, ""); reason != "" {
			continue
		}
		if r.time.After(latest) {
			latest = r.time
		}
	}
}

// loader is the second pass of Scan: it maps rows to records and emits
// them, remembering which sessions and clients it has announced.
type loader struct {
	mapper   *mapper
	emit     func(Record) error
	progress func(rowsDone int)
	sessions map[[16]byte]struct{}
	clients  map[string]struct{}
	summary  Summary
}

func newLoader(opts Options, shift time.Duration, emit func(Record) error, progress func(int)) *loader {
	return &loader{
		mapper:   newMapper(opts, shift),
		emit:     emit,
		progress: progress,
		sessions: make(map[[16]byte]struct{}),
		clients:  make(map[string]struct{}),
		summary: Summary{
			Records:    make(map[Kind]int),
			EventTypes: make(map[string]int),
			Rejected:   make(map[string]int),
			Shift:      shift,
		},
	}
}

func (l *loader) result() Summary {
	s := l.summary
	s.Sessions = len(l.sessions)
	s.Clients = len(l.clients)
	return s
}

func (l *loader) loadFile(ctx context.Context, f file) error {
	in, err := os.Open(f.path)
	if err != nil {
		return fmt.Errorf("rees46: %w", err)
	}
	defer in.Close()

	h := sha256.New()
	content := io.TeeReader(in, h)
	rr, err := newRowReader(content)
	if err != nil {
		return fmt.Errorf("%w in %s", err, f.path)
	}
	l.summary.Files++

	if err := l.loadRows(ctx, rr, f); err != nil {
		return err
	}
	l.reportProgress()
	return checkUnchanged(f, content, h)
}

func (l *loader) loadRows(ctx context.Context, rr *rowReader, f file) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		fields, err := rr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && !errors.Is(err, errMalformedRow) {
			return fmt.Errorf("rees46: read %s: %w", f.path, err)
		}

		l.summary.Rows++
		if l.summary.Rows%progressInterval == 0 {
			l.reportProgress()
		}
		if err != nil {
			l.summary.Rejected[RejectMalformedCSV]++
			continue
		}
		if err := l.loadRow(rr.cols, fields, f.id+"-"+strconv.Itoa(rr.num)); err != nil {
			return fmt.Errorf("rees46: %s row %d: %w", f.path, rr.num, err)
		}
	}
}

// loadRow maps and emits one data row whose event carries captureID.
func (l *loader) loadRow(cols columns, fields []string, captureID string) error {
	r, reason := parseRow(cols, fields)
	if reason != "" {
		l.summary.Rejected[reason]++
		return nil
	}

	_, seenClient := l.clients[r.clientID]
	_, seenSession := l.sessions[r.session]
	records, reason, err := l.mapper.rowRecords(r, captureID, !seenClient, !seenSession)
	if err != nil {
		return err
	}
	if reason != "" {
		l.summary.Rejected[reason]++
		return nil
	}

	for _, rec := range records {
		if err := l.emit(rec); err != nil {
			return err
		}
		l.summary.Records[rec.Kind]++
	}

	l.clients[r.clientID] = struct{}{}
	l.sessions[r.session] = struct{}{}
	if !seenSession {
		l.summary.EventTypes[schemas.EventContactIdentify]++
	}
	l.summary.EventTypes[r.eventType]++
	if at := records[len(records)-1].Time; at.After(l.summary.MaxTime) {
		l.summary.MaxTime = at
	}
	return nil
}

func (l *loader) reportProgress() {
	if l.progress != nil {
		l.progress(l.summary.Rows)
	}
}

// checkUnchanged reads the rest of content into h and compares the hash
// with the one of the first pass, because captureIds made from a stale hash
// would not match the rows.
func checkUnchanged(f file, content io.Reader, h hash.Hash) error {
	if _, err := io.Copy(io.Discard, content); err != nil {
		return fmt.Errorf("rees46: read %s: %w", f.path, err)
	}
	if !bytes.Equal(h.Sum(nil), f.sum) {
		return fmt.Errorf("%w: %s", ErrFileChanged, f.path)
	}
	return nil
}
