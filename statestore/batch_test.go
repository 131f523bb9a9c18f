package statestore

import (
	"errors"
	"fmt"
	"testing"
)

func TestBatchCloseDiscards(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{NoSync: true})

	b := s.NewBatch()
	b.Put("a", "t", "1", []byte("v"))
	b.SetOffset("events", 5)
	b.Close()

	if _, found := getString(t, s, "a", "t", "1"); found {
		t.Error("row of a closed batch is visible")
	}
	if _, found, err := s.Offset("events"); err != nil || found {
		t.Errorf("offset of a closed batch: found %v, error %v; want not found", found, err)
	}
	if err := b.Commit(); !errors.Is(err, ErrBatchClosed) {
		t.Errorf("Commit after Close error = %v, want ErrBatchClosed", err)
	}
}

func TestCommitAppliesStateAndOffset(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})

	b := s.NewBatch()
	b.Put("a", "t", "1", []byte("v1"))
	b.Delete("a", "t", "2")
	b.SetOffset("events", 10)

	if _, found := getString(t, s, "a", "t", "1"); found {
		t.Error("row is visible before Commit")
	}
	if _, found, _ := s.Offset("events"); found {
		t.Error("offset is visible before Commit")
	}

	commit(t, b)

	if got, found := getString(t, s, "a", "t", "1"); !found || got != "v1" {
		t.Errorf("Get after Commit = %q, %v; want v1, true", got, found)
	}
	offset, found, err := s.Offset("events")
	if err != nil {
		t.Fatalf("Offset: %v", err)
	}
	if !found || offset != 10 {
		t.Errorf("Offset after Commit = %d, %v; want 10, true", offset, found)
	}
}

func TestCommitTwice(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{NoSync: true})

	b := s.NewBatch()
	b.Put("a", "t", "1", []byte("v"))
	commit(t, b)

	if err := b.Commit(); !errors.Is(err, ErrBatchClosed) {
		t.Errorf("second Commit error = %v, want ErrBatchClosed", err)
	}
	b.Close()
	b.Put("a", "t", "2", []byte("v"))
	if _, found := getString(t, s, "a", "t", "2"); found {
		t.Error("Put after Commit reached the store")
	}
}

func TestEmptyBatchCommit(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})

	b := s.NewBatch()
	if b.Len() != 0 {
		t.Errorf("Len of a new batch = %d, want 0", b.Len())
	}
	commit(t, b)
}

func TestBatchLen(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{NoSync: true})

	b := s.NewBatch()
	defer b.Close()
	b.Put("a", "t", "1", nil)
	b.Delete("a", "t", "2")
	b.SetOffset("events", 1)
	if b.Len() != 3 {
		t.Errorf("Len = %d, want 3", b.Len())
	}
}

func TestBatchRejectsInvalidKeys(t *testing.T) {
	cases := []struct {
		name  string
		apply func(b *Batch)
		want  error
	}{
		{"put empty tenant", func(b *Batch) { b.Put("", "t", "1", nil) }, ErrInvalidKey},
		{"put empty table", func(b *Batch) { b.Put("a", "", "1", nil) }, ErrInvalidKey},
		{"put empty id", func(b *Batch) { b.Put("a", "t", "", nil) }, ErrInvalidKey},
		{"put zero byte in tenant", func(b *Batch) { b.Put("a\x00", "t", "1", nil) }, ErrInvalidKey},
		{"put zero byte in table", func(b *Batch) { b.Put("a", "\x00t", "1", nil) }, ErrInvalidKey},
		{"put zero byte in id", func(b *Batch) { b.Put("a", "t", "1\x002", nil) }, ErrInvalidKey},
		{"delete empty tenant", func(b *Batch) { b.Delete("", "t", "1") }, ErrInvalidKey},
		{"delete zero byte in id", func(b *Batch) { b.Delete("a", "t", "\x00") }, ErrInvalidKey},
		{"offset empty source", func(b *Batch) { b.SetOffset("", 1) }, ErrInvalidOffset},
		{"offset negative", func(b *Batch) { b.SetOffset("events", -1) }, ErrInvalidOffset},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir(), Options{NoSync: true})

			b := s.NewBatch()
			b.Put("valid", "t", "before", []byte("v"))
			tc.apply(b)
			b.Put("valid", "t", "after", []byte("v"))
			b.SetOffset("events", 3)

			if err := b.Commit(); !errors.Is(err, tc.want) {
				t.Fatalf("Commit error = %v, want %v", err, tc.want)
			}
			if rows := scanTable(t, s, "valid", "t"); len(rows) != 0 {
				t.Errorf("rejected batch wrote rows %v", rows)
			}
			if _, found, _ := s.Offset("events"); found {
				t.Error("rejected batch wrote its offset")
			}
			var keys []string
			err := s.ScanAll(func(tenant, table, id string, _ []byte) error {
				keys = append(keys, fmt.Sprintf("%q/%q/%q", tenant, table, id))
				return nil
			})
			if err != nil {
				t.Fatalf("ScanAll: %v", err)
			}
			if len(keys) != 0 {
				t.Errorf("rejected batch wrote keys %v", keys)
			}
		})
	}
}

// BenchmarkApply commits batches of 500 puts of 300-byte values plus one
// SetOffset, with and without fsync on commit.
func BenchmarkApply(b *testing.B) {
	for _, bc := range []struct {
		name   string
		noSync bool
	}{
		{"sync", false},
		{"nosync", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchmarkApply(b, Options{NoSync: bc.noSync})
		})
	}
}

const (
	applyBatchPuts  = 500
	applyValueBytes = 300
	applySessions   = 100_000 // distinct ids the puts cycle through
)

func benchmarkApply(b *testing.B, opts Options) {
	s := openStore(b, b.TempDir(), opts)

	ids := make([]string, applySessions)
	for i := range ids {
		ids[i] = fmt.Sprintf("session-%06d", i)
	}
	value := make([]byte, applyValueBytes)
	for i := range value {
		value[i] = byte('a' + i%26)
	}

	b.SetBytes(applyBatchPuts * applyValueBytes)
	b.ReportAllocs()
	batches := 0
	for b.Loop() {
		batch := s.NewBatch()
		for j := range applyBatchPuts {
			batch.Put("tenant", "sessions", ids[(batches*applyBatchPuts+j)%applySessions], value)
		}
		batch.SetOffset("events", int64(batches))
		if err := batch.Commit(); err != nil {
			b.Fatalf("Commit: %v", err)
		}
		batches++
	}

	puts := float64(batches * applyBatchPuts)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/puts, "ns/put")
	b.ReportMetric(puts/b.Elapsed().Seconds(), "puts/s")
}
