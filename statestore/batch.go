package statestore

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Batch collects state changes and offsets that Commit applies to the store
// atomically: after a crash the store contains all of a committed batch or
// none of it. A Batch is not safe for concurrent use.
//
// Put, Delete and SetOffset do not return errors. The first invalid call is
// recorded instead, later calls are ignored, and Commit returns the error
// without writing anything.
type Batch struct {
	store *Store
	batch *pebble.Batch // nil after Commit or Close, or if the store was closed
	key   []byte        // buffer reused to encode keys, which Pebble copies
	err   error         // first rejected call, returned by Commit
	done  bool          // set by Commit and Close
}

// NewBatch returns an empty batch. If the store is closed, Commit of the
// returned batch fails with ErrClosed.
func (s *Store) NewBatch() *Batch {
	if err := s.acquire(); err != nil {
		return &Batch{store: s, err: err}
	}
	defer s.release()

	return &Batch{store: s, batch: s.db.NewBatch()}
}

// usable reports whether the batch still accepts operations.
func (b *Batch) usable() bool {
	return !b.done && b.err == nil
}

// Put records that value is the new value of the row tenant, table, id.
// The batch copies key and value, so the caller may reuse value after Put
// returns. An empty tenant, table or id, or one containing a 0x00 byte, makes
// Commit fail with an error wrapping ErrInvalidKey.
func (b *Batch) Put(tenant, table, id string, value []byte) {
	if !b.usable() {
		return
	}
	key, err := appendStateKey(b.key[:0], tenant, table, id)
	if err != nil {
		b.err = err
		return
	}
	b.key = key

	if err := b.batch.Set(key, value, nil); err != nil {
		b.err = fmt.Errorf("statestore: put %q/%q/%q: %w", tenant, table, id, err)
	}
}

// Delete records that the row tenant, table, id is removed. Deleting a row
// that does not exist is not an error. Keys are validated as in Put.
func (b *Batch) Delete(tenant, table, id string) {
	if !b.usable() {
		return
	}
	key, err := appendStateKey(b.key[:0], tenant, table, id)
	if err != nil {
		b.err = err
		return
	}
	b.key = key

	if err := b.batch.Delete(key, nil); err != nil {
		b.err = fmt.Errorf("statestore: delete %q/%q/%q: %w", tenant, table, id, err)
	}
}

// SetOffset records offset as the applied offset of source, replacing the
// stored one. The store does not require offsets to increase. An empty
// source or a negative offset makes Commit fail with an error wrapping
// ErrInvalidOffset.
func (b *Batch) SetOffset(source string, offset int64) {
	if !b.usable() {
		return
	}
	if offset < 0 {
		b.err = fmt.Errorf("%w: offset %d of %q is negative", ErrInvalidOffset, offset, source)
		return
	}
	key, err := appendOffsetKey(b.key[:0], source)
	if err != nil {
		b.err = err
		return
	}
	b.key = key

	if err := b.batch.Set(key, encodeUint64(uint64(offset)), nil); err != nil {
		b.err = fmt.Errorf("statestore: set offset of %q: %w", source, err)
	}
}

// Len returns the number of Put, Delete and SetOffset calls in the batch,
// not counting rejected or ignored ones.
func (b *Batch) Len() int {
	if b.batch == nil {
		return 0
	}
	return int(b.batch.Count())
}

// Commit applies the batch atomically and, unless Options.NoSync is set,
// syncs the write-ahead log before it returns. It returns the first error
// recorded by Put, Delete or SetOffset without writing anything, ErrClosed
// if the store is closed, and ErrBatchClosed if the batch was already
// committed or closed. The batch cannot be used after Commit, whatever the
// result.
func (b *Batch) Commit() error {
	if b.done {
		return ErrBatchClosed
	}
	defer b.Close()

	if b.err != nil {
		return b.err
	}
	if err := b.store.acquire(); err != nil {
		return err
	}
	defer b.store.release()

	if b.batch.Empty() {
		return nil
	}
	if err := b.batch.Commit(b.store.writeOpts); err != nil {
		return fmt.Errorf("statestore: commit batch of %d operations in %s: %w", b.Len(), b.store.dir, err)
	}
	return nil
}

// Close discards the batch without committing it. It is safe to call after
// Commit and more than once.
func (b *Batch) Close() {
	b.done = true
	if b.batch != nil {
		_ = b.batch.Close()
		b.batch = nil
	}
}
