// Package statestore keeps the state of one pipeline stage for one partition
// in a Pebble database on disk, together with the source offsets that the
// state reflects.
//
// A Store holds opaque values under (tenant, table, id) keys, with the
// tenant first, and the applied offset of each source (for example a Kafka
// topic). A Batch writes state and offsets in one atomic commit, synced by
// default, so after a crash at any point the stored offsets name exactly the
// records that the stored state contains. The package does not depend on Kafka, NATS or the
// record types.
package statestore

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// Store is the Pebble database of one stage and partition.
//
// Reads (Get, Offset, Offsets, Scan, ScanAll) are safe from any number of
// goroutines, also while a batch commits. Batches may be committed from
// several goroutines, but the stored offset of a source is the one of the
// last commit, so callers commit from one goroutine per store.
type Store struct {
	db        *pebble.DB
	dir       string
	writeOpts *pebble.WriteOptions

	mu     sync.Mutex
	idle   *sync.Cond // broadcast when active drops to zero after Close began
	active int        // calls that use db, guarded by mu
	closed bool       // set when Close begins, guarded by mu

	closeOnce sync.Once
	closeErr  error
}

// Open opens the store in dir, creating dir and an empty store if they do
// not exist. Reopening a directory resumes its state and offsets. A
// directory can be open in one Store at a time. Pebble's lock file makes a
// second Open fail, also from another process.
func Open(dir string, opts Options) (*Store, error) {
	logger := opts.Logger.With().Str("store_dir", dir).Logger()

	db, err := pebble.Open(dir, opts.pebbleOptions(logger))
	if err != nil {
		return nil, fmt.Errorf("statestore: open %s: %w", dir, err)
	}

	s := &Store{db: db, dir: dir, writeOpts: pebble.Sync}
	if opts.NoSync || opts.DisableWAL {
		s.writeOpts = pebble.NoSync
	}
	// The layout version is written synced, unless the store keeps no
	// write-ahead log: Pebble rejects synced writes then.
	layoutOpts := pebble.Sync
	if opts.DisableWAL {
		layoutOpts = pebble.NoSync
	}
	s.idle = sync.NewCond(&s.mu)

	if err := s.checkLayout(layoutOpts); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// checkLayout stores the key layout version in a new store, written with
// opts, and rejects a store written with another version.
func (s *Store) checkLayout(opts *pebble.WriteOptions) error {
	value, closer, err := s.db.Get(layoutKey)
	if errors.Is(err, pebble.ErrNotFound) {
		if err := s.db.Set(layoutKey, encodeUint64(layoutVersion), opts); err != nil {
			return fmt.Errorf("statestore: write key layout version in %s: %w", s.dir, err)
		}
		return nil
	}
	if err != nil {
		return s.readError("read key layout version", err)
	}
	defer closer.Close()

	version, err := decodeUint64("key layout version", value)
	if err != nil {
		return err
	}
	if version != layoutVersion {
		return fmt.Errorf("%w: %s has version %d but this build reads version %d, so rebuild the state in an empty directory",
			ErrUnsupportedFormat, s.dir, version, layoutVersion)
	}
	return nil
}

// acquire registers a call that uses the database, so that Close waits for
// it. It returns ErrClosed once Close has begun.
func (s *Store) acquire() error {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.closed {
		return ErrClosed
	}
	s.active++
	return nil
}

// release ends a call registered by acquire.
func (s *Store) release() {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.active--
	if s.active == 0 && s.closed {
		s.idle.Broadcast()
	}
}

// readError wraps an error from Pebble, marking on-disk corruption with
// ErrCorrupt.
func (s *Store) readError(op string, err error) error {
	if pebble.IsCorruptionError(err) {
		return fmt.Errorf("%w: %s in %s: %w", ErrCorrupt, op, s.dir, err)
	}
	return fmt.Errorf("statestore: %s in %s: %w", op, s.dir, err)
}

// Get returns the value stored under tenant, table and id, and whether it
// exists. The returned slice is a copy that the caller owns. Get returns an
// error wrapping ErrInvalidKey for a key that Batch.Put would reject.
func (s *Store) Get(tenant, table, id string) ([]byte, bool, error) {
	key, err := appendStateKey(nil, tenant, table, id)
	if err != nil {
		return nil, false, err
	}
	if err := s.acquire(); err != nil {
		return nil, false, err
	}
	defer s.release()

	value, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.readError(fmt.Sprintf("get %q/%q/%q", tenant, table, id), err)
	}
	defer closer.Close()

	return bytes.Clone(value), true, nil
}

// Offset returns the applied offset of source, and false if no batch has
// set one.
func (s *Store) Offset(source string) (int64, bool, error) {
	key, err := appendOffsetKey(nil, source)
	if err != nil {
		return 0, false, err
	}
	if err := s.acquire(); err != nil {
		return 0, false, err
	}
	defer s.release()

	value, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, s.readError(fmt.Sprintf("get offset of %q", source), err)
	}
	defer closer.Close()

	offset, err := decodeOffset(source, value)
	if err != nil {
		return 0, false, err
	}
	return offset, true, nil
}

// Offsets returns the applied offset of every source, keyed by source. The
// caller owns the returned map.
func (s *Store) Offsets() (map[string]int64, error) {
	offsets := make(map[string]int64)
	err := s.scan(offsetPrefix, func(key, value []byte) error {
		source := string(key[len(offsetPrefix):])
		offset, err := decodeOffset(source, value)
		if err != nil {
			return err
		}
		offsets[source] = offset
		return nil
	})
	if err != nil {
		return nil, err
	}
	return offsets, nil
}

// decodeOffset reads an offset value, rejecting one that SetOffset cannot
// have written.
func decodeOffset(source string, value []byte) (int64, error) {
	name := fmt.Sprintf("offset of %q", source)
	v, err := decodeUint64(name, value)
	if err != nil {
		return 0, err
	}
	if v > math.MaxInt64 {
		return 0, fmt.Errorf("%w: %s is %d, above the int64 range", ErrCorrupt, name, v)
	}
	return int64(v), nil
}

// Scan calls fn for every row of one tenant's table, in ascending byte order
// of id. It reads a consistent snapshot taken when Scan starts, so
// commits during the scan are not visible to it. The value slice is valid
// only until fn returns. Scan stops at the first error fn returns and
// returns that error unchanged.
//
// fn may read from the store and commit batches, but it must not call
// Close, which waits for Scan to return.
func (s *Store) Scan(tenant, table string, fn func(id string, value []byte) error) error {
	prefix, err := appendTablePrefix(nil, tenant, table)
	if err != nil {
		return err
	}
	return s.scan(prefix, func(key, value []byte) error {
		return fn(string(key[len(prefix):]), value)
	})
}

// ScanAll calls fn for every row of every tenant and table, ordered by
// tenant, table and id. It has the snapshot, ownership and error rules of
// Scan. A row whose key this package cannot have written stops the scan
// with an error wrapping ErrCorrupt.
func (s *Store) ScanAll(fn func(tenant, table, id string, value []byte) error) error {
	return s.scan(statePrefix, func(key, value []byte) error {
		tenant, table, id, err := parseStateKey(key)
		if err != nil {
			return err
		}
		return fn(tenant, table, id, value)
	})
}

// scan calls fn for every key that starts with prefix, in key order, on a
// snapshot of the store. key and value are valid only until fn returns.
func (s *Store) scan(prefix []byte, fn func(key, value []byte) error) (err error) {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()

	iter, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return s.readError("scan", err)
	}
	defer func() {
		if closeErr := iter.Close(); closeErr != nil && err == nil {
			err = s.readError("scan", closeErr)
		}
	}()

	for valid := iter.First(); valid; valid = iter.Next() {
		value, err := iter.ValueAndErr()
		if err != nil {
			return s.readError(fmt.Sprintf("read value of key %q", iter.Key()), err)
		}
		if err := fn(iter.Key(), value); err != nil {
			return err
		}
	}
	return nil
}

// Flush writes every committed change that is still only in memory to
// table files. A store opened with DisableWAL needs it before Close; other
// stores do not.
func (s *Store) Flush() error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	if err := s.db.Flush(); err != nil {
		return fmt.Errorf("statestore: flush %s: %w", s.dir, err)
	}
	return nil
}

// Close waits for calls in progress, then closes the database. Calls that
// start after Close began return ErrClosed. Close is safe to call more than
// once and from several goroutines. Later calls wait for the first to finish
// and return nil.
func (s *Store) Close() error {
	first := false
	s.closeOnce.Do(func() {
		first = true

		s.mu.Lock()
		s.closed = true
		for s.active > 0 {
			s.idle.Wait()
		}
		s.mu.Unlock()

		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("statestore: close %s: %w", s.dir, err)
		}
	})
	if !first {
		return nil
	}
	return s.closeErr
}
