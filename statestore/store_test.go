package statestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// openStore opens a store in dir and closes it when the test ends.
func openStore(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// commit commits b and fails the test on error.
func commit(t testing.TB, b *Batch) {
	t.Helper()
	if err := b.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// getString returns the value of a row as a string, and whether it exists.
func getString(t testing.TB, s *Store, tenant, table, id string) (string, bool) {
	t.Helper()
	value, found, err := s.Get(tenant, table, id)
	if err != nil {
		t.Fatalf("Get(%q, %q, %q): %v", tenant, table, id, err)
	}
	return string(value), found
}

// scanTable returns the rows of one tenant's table as id -> value.
func scanTable(t testing.TB, s *Store, tenant, table string) map[string]string {
	t.Helper()
	rows := make(map[string]string)
	err := s.Scan(tenant, table, func(id string, value []byte) error {
		rows[id] = string(value)
		return nil
	})
	if err != nil {
		t.Fatalf("Scan(%q, %q): %v", tenant, table, err)
	}
	return rows
}

func TestPutGetDelete(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{NoSync: true})

	b := s.NewBatch()
	b.Put("acme", "sessions", "s1", []byte("cart=1"))
	b.Put("acme", "sessions", "s2", []byte("cart=2"))
	commit(t, b)

	if got, found := getString(t, s, "acme", "sessions", "s1"); !found || got != "cart=1" {
		t.Errorf("Get s1 = %q, %v; want cart=1, true", got, found)
	}

	b = s.NewBatch()
	b.Put("acme", "sessions", "s1", []byte("cart=3"))
	b.Delete("acme", "sessions", "s2")
	b.Delete("acme", "sessions", "never-written")
	commit(t, b)

	if got, found := getString(t, s, "acme", "sessions", "s1"); !found || got != "cart=3" {
		t.Errorf("Get s1 after overwrite = %q, %v; want cart=3, true", got, found)
	}
	if _, found := getString(t, s, "acme", "sessions", "s2"); found {
		t.Error("Get s2 after Delete found a value")
	}
	want := map[string]string{"s1": "cart=3"}
	if got := scanTable(t, s, "acme", "sessions"); !reflect.DeepEqual(got, want) {
		t.Errorf("Scan = %v, want %v", got, want)
	}
}

func TestGetMissingRow(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{NoSync: true})

	value, found, err := s.Get("acme", "sessions", "s1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if found || value != nil {
		t.Errorf("Get of a missing row = %q, %v; want nil, false", value, found)
	}
}

func TestEmptyValue(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{NoSync: true})

	b := s.NewBatch()
	b.Put("acme", "sessions", "s1", nil)
	commit(t, b)

	value, found, err := s.Get("acme", "sessions", "s1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !found || len(value) != 0 {
		t.Errorf("Get of an empty value = %q, %v; want empty, true", value, found)
	}
}

func TestTenantIsolation(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{NoSync: true})

	b := s.NewBatch()
	b.Put("a", "sessions", "s1", []byte("a-s1"))
	b.Put("ab", "sessions", "s1", []byte("ab-s1"))
	b.Put("ab", "sessions", "s2", []byte("ab-s2"))
	b.Put("a", "sessionsx", "s3", []byte("a-sessionsx-s3"))
	b.Put("a", "session", "s4", []byte("a-session-s4"))
	b.Put("b", "sessions", "s5", []byte("b-s5"))
	commit(t, b)

	if got, _ := getString(t, s, "a", "sessions", "s1"); got != "a-s1" {
		t.Errorf("Get a/sessions/s1 = %q, want a-s1", got)
	}
	if got, _ := getString(t, s, "ab", "sessions", "s1"); got != "ab-s1" {
		t.Errorf("Get ab/sessions/s1 = %q, want ab-s1", got)
	}
	if _, found := getString(t, s, "a", "sessions", "s2"); found {
		t.Error("Get a/sessions/s2 found the row of tenant ab")
	}

	want := map[string]string{"s1": "a-s1"}
	if got := scanTable(t, s, "a", "sessions"); !reflect.DeepEqual(got, want) {
		t.Errorf("Scan a/sessions = %v, want %v", got, want)
	}
	want = map[string]string{"s1": "ab-s1", "s2": "ab-s2"}
	if got := scanTable(t, s, "ab", "sessions"); !reflect.DeepEqual(got, want) {
		t.Errorf("Scan ab/sessions = %v, want %v", got, want)
	}
	if got := scanTable(t, s, "c", "sessions"); len(got) != 0 {
		t.Errorf("Scan of an unknown tenant = %v, want no rows", got)
	}
}

func TestScanAllOrder(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{NoSync: true})

	b := s.NewBatch()
	b.Put("b", "t", "1", []byte("4"))
	b.Put("ab", "t", "1", []byte("3"))
	b.Put("a", "u", "1", []byte("2"))
	b.Put("a", "t", "2", []byte("1"))
	b.Put("a", "t", "1", []byte("0"))
	b.SetOffset("topic", 9)
	commit(t, b)

	var got []string
	err := s.ScanAll(func(tenant, table, id string, value []byte) error {
		got = append(got, fmt.Sprintf("%s/%s/%s=%s", tenant, table, id, value))
		return nil
	})
	if err != nil {
		t.Fatalf("ScanAll: %v", err)
	}
	want := []string{"a/t/1=0", "a/t/2=1", "a/u/1=2", "ab/t/1=3", "b/t/1=4"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ScanAll = %v, want %v", got, want)
	}
}

func TestScanStopsAtCallbackError(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{NoSync: true})

	b := s.NewBatch()
	for i := range 5 {
		b.Put("a", "t", fmt.Sprint(i), nil)
	}
	commit(t, b)

	stop := errors.New("stop")
	calls := 0
	err := s.Scan("a", "t", func(id string, value []byte) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("Scan error = %v, want the callback's error unchanged", err)
	}
	if calls != 2 {
		t.Errorf("Scan called fn %d times, want 2", calls)
	}

	calls = 0
	err = s.ScanAll(func(tenant, table, id string, value []byte) error {
		calls++
		return stop
	})
	if err != stop {
		t.Errorf("ScanAll error = %v, want the callback's error unchanged", err)
	}
	if calls != 1 {
		t.Errorf("ScanAll called fn %d times, want 1", calls)
	}
}

func TestScanReadsSnapshot(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{NoSync: true})

	b := s.NewBatch()
	b.Put("a", "t", "1", []byte("old"))
	b.Put("a", "t", "2", []byte("old"))
	commit(t, b)

	seen := make(map[string]string)
	err := s.Scan("a", "t", func(id string, value []byte) error {
		if id == "1" {
			b := s.NewBatch()
			b.Put("a", "t", "2", []byte("new"))
			b.Put("a", "t", "3", []byte("new"))
			if err := b.Commit(); err != nil {
				return err
			}
		}
		seen[id] = string(value)
		return nil
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}

	want := map[string]string{"1": "old", "2": "old"}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("Scan during a commit = %v, want the snapshot %v", seen, want)
	}
	want = map[string]string{"1": "old", "2": "new", "3": "new"}
	if got := scanTable(t, s, "a", "t"); !reflect.DeepEqual(got, want) {
		t.Errorf("Scan after the commit = %v, want %v", got, want)
	}
}

func TestGetReturnsCopy(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{NoSync: true})

	value := []byte("original")
	b := s.NewBatch()
	b.Put("a", "t", "1", value)
	copy(value, "CHANGED!")
	commit(t, b)

	got, _, err := s.Get("a", "t", "1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if string(got) != "original" {
		t.Errorf("Get after the caller changed the Put value = %q, want original", got)
	}

	copy(got, "CHANGED!")
	if again, _ := getString(t, s, "a", "t", "1"); again != "original" {
		t.Errorf("Get after the caller changed a returned value = %q, want original", again)
	}
}

func TestOffsets(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{NoSync: true})

	if _, found, err := s.Offset("events"); err != nil || found {
		t.Errorf("Offset of a new store = found %v, error %v; want not found", found, err)
	}

	b := s.NewBatch()
	b.SetOffset("events", 41)
	b.SetOffset("sessions", 0)
	b.SetOffset("events", 42)
	commit(t, b)

	offset, found, err := s.Offset("events")
	if err != nil {
		t.Fatalf("Offset: %v", err)
	}
	if !found || offset != 42 {
		t.Errorf("Offset(events) = %d, %v; want 42, true", offset, found)
	}

	offsets, err := s.Offsets()
	if err != nil {
		t.Fatalf("Offsets: %v", err)
	}
	want := map[string]int64{"events": 42, "sessions": 0}
	if !reflect.DeepEqual(offsets, want) {
		t.Errorf("Offsets = %v, want %v", offsets, want)
	}
}

func TestReopenResumes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "stage", "partition-3")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}

	b := s.NewBatch()
	b.Put("a", "t", "1", []byte("v1"))
	b.SetOffset("events", 7)
	commit(t, b)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openStore(t, dir, Options{})
	if got, found := getString(t, s, "a", "t", "1"); !found || got != "v1" {
		t.Errorf("Get after reopen = %q, %v; want v1, true", got, found)
	}
	offset, found, err := s.Offset("events")
	if err != nil {
		t.Fatalf("Offset: %v", err)
	}
	if !found || offset != 7 {
		t.Errorf("Offset after reopen = %d, %v; want 7, true", offset, found)
	}
}

func TestOpenLockedDirectory(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir, Options{NoSync: true})

	second, err := Open(dir, Options{NoSync: true})
	if err == nil {
		_ = second.Close()
		t.Fatal("second Open of an open directory succeeded")
	}
}

func TestOpenRejectsOtherLayoutVersion(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.db.Set(layoutKey, encodeUint64(layoutVersion+1), pebble.Sync); err != nil {
		t.Fatalf("write layout version: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s, err = Open(dir, Options{})
	if !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("Open of a newer layout error = %v, want ErrUnsupportedFormat", err)
	}
	if s != nil {
		_ = s.Close()
	}

	// The failed Open must release the directory lock.
	s, err = Open(dir, Options{})
	if err == nil {
		_ = s.Close()
		t.Fatal("third Open succeeded, want ErrUnsupportedFormat")
	}
	if !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("third Open error = %v, want ErrUnsupportedFormat", err)
	}
}

func TestReadsRejectInvalidKeys(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{NoSync: true})

	if _, _, err := s.Get("", "t", "1"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Get with empty tenant error = %v, want ErrInvalidKey", err)
	}
	if _, _, err := s.Get("a", "t", "1\x00"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Get with 0x00 in id error = %v, want ErrInvalidKey", err)
	}
	noop := func(string, []byte) error { return nil }
	if err := s.Scan("a", "", noop); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Scan with empty table error = %v, want ErrInvalidKey", err)
	}
	if err := s.Scan("a\x00", "t", noop); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Scan with 0x00 in tenant error = %v, want ErrInvalidKey", err)
	}
	if _, _, err := s.Offset(""); !errors.Is(err, ErrInvalidOffset) {
		t.Errorf("Offset of empty source error = %v, want ErrInvalidOffset", err)
	}
}

func TestCloseTwice(t *testing.T) {
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("first Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestUseAfterClose(t *testing.T) {
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	pending := s.NewBatch()
	pending.Put("a", "t", "1", []byte("v"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	if _, _, err := s.Get("a", "t", "1"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get error = %v, want ErrClosed", err)
	}
	if _, _, err := s.Offset("events"); !errors.Is(err, ErrClosed) {
		t.Errorf("Offset error = %v, want ErrClosed", err)
	}
	if _, err := s.Offsets(); !errors.Is(err, ErrClosed) {
		t.Errorf("Offsets error = %v, want ErrClosed", err)
	}
	if err := s.Scan("a", "t", func(string, []byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Scan error = %v, want ErrClosed", err)
	}
	if err := s.ScanAll(func(_, _, _ string, _ []byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("ScanAll error = %v, want ErrClosed", err)
	}

	b := s.NewBatch()
	b.Put("a", "t", "1", []byte("v"))
	if err := b.Commit(); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit of a batch created after Close error = %v, want ErrClosed", err)
	}
	if err := pending.Commit(); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit of a batch created before Close error = %v, want ErrClosed", err)
	}
}

func TestSharedCache(t *testing.T) {
	cache := NewCache(1 << 20)
	root := t.TempDir()

	var stores []*Store
	for i := range 3 {
		stores = append(stores, openStore(t, filepath.Join(root, fmt.Sprint(i)), Options{Cache: cache, NoSync: true}))
	}
	// The stores keep their own references after the creator's is released.
	cache.Unref()

	for i, s := range stores {
		b := s.NewBatch()
		b.Put("a", "t", "id", []byte(fmt.Sprint(i)))
		commit(t, b)
	}
	for i, s := range stores {
		if got, _ := getString(t, s, "a", "t", "id"); got != fmt.Sprint(i) {
			t.Errorf("store %d: Get = %q, want %d", i, got, i)
		}
		if err := s.Close(); err != nil {
			t.Errorf("store %d: Close: %v", i, err)
		}
	}
}

// TestConcurrentReadsAndClose runs readers against a committing writer and
// closes the store under them. Run it with -race.
func TestConcurrentReadsAndClose(t *testing.T) {
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}

	const writes = 200
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		for i := range writes {
			b := s.NewBatch()
			b.Put("a", "t", fmt.Sprint(i%10), []byte(fmt.Sprint(i)))
			b.SetOffset("events", int64(i))
			if err := b.Commit(); err != nil {
				t.Errorf("Commit %d: %v", i, err)
				return
			}
		}
	}()

	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				_, _, err := s.Get("a", "t", "1")
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Get: %v", err)
					return
				}
				err = s.Scan("a", "t", func(string, []byte) error { return nil })
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Scan: %v", err)
					return
				}
			}
		}()
	}

	<-committed
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	readers.Wait()
}

// TestDisableWALKeepsFlushedCommits commits to a store without a
// write-ahead log: what Flush wrote before Close survives a reopen, and the
// log files Pebble still creates take no real space.
func TestDisableWALKeepsFlushedCommits(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{DisableWAL: true})
	if err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch()
	b.Put("t1", "session", "s1", []byte("cart"))
	b.SetOffset("events", 41)
	commit(t, b)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, log := range logs {
		info, err := os.Stat(log)
		if err != nil {
			t.Fatal(err)
		}
		used := info.Size()
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			used = max(used, st.Blocks*512) // space reserved ahead counts too
		}
		if used > 64<<10 {
			t.Errorf("store without a write-ahead log uses %d bytes for %s", used, log)
		}
	}

	s = openStore(t, dir, Options{})
	if v, found := getString(t, s, "t1", "session", "s1"); !found || v != "cart" {
		t.Errorf("after reopen: %q, found %v, want %q", v, found, "cart")
	}
	if off, found, err := s.Offset("events"); err != nil || !found || off != 41 {
		t.Errorf("offset after reopen: %d, %v, %v, want 41", off, found, err)
	}
}
