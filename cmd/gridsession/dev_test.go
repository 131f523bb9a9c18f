package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/rees46"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/statestore"
)

// syncBuffer is a bytes.Buffer that dev may write while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var kafkaLine = regexp.MustCompile(`Kafka: (\S+)`)

// startDev runs the dev command on random loopback ports and returns the
// Kafka address it printed and a function that stops it like Ctrl-C.
func startDev(t *testing.T, dataDir string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runDev(ctx, []string{"--data-dir", dataDir, "--kafka-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--partitions", "4", "--http", "127.0.0.1:0", "--log-level", "warn"}, out)
	}()

	deadline := time.Now().Add(30 * time.Second)
	for !kafkaLine.MatchString(out.String()) {
		select {
		case err := <-done:
			t.Fatalf("dev stopped early: %v\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev printed no Kafka address within 30s:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("dev: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("dev did not stop within 60s")
		}
	}
	return kafkaLine.FindStringSubmatch(out.String())[1], stop
}

func TestDevResumesSameData(t *testing.T) {
	dir, err := rees46.FindSampleDir()
	if err != nil {
		t.Skipf("REES46 samples not found: %v", err)
	}
	file := rees46.CosmeticsPaths(dir)[:1]
	dataDir := t.TempDir()

	addr, stop := startDev(t, dataDir)
	load(t, addr, file)
	waitCaughtUp(t, addr)
	stop()
	first := readSessions(t, dataDir)
	if len(first) != 135 {
		t.Fatalf("%d sessions stored, want the file's 135", len(first))
	}

	// The second start must find the topics, the records and the state
	// of the first; loading the same file again then changes nothing.
	addr, stop = startDev(t, dataDir)
	load(t, addr, file)
	waitCaughtUp(t, addr)
	stop()
	second := readSessions(t, dataDir)
	if len(second) != len(first) {
		t.Fatalf("%d sessions after restart, %d before", len(second), len(first))
	}
	for id, s := range first {
		// Applied and LastActivity move only when a record is applied;
		// Version also moves when the sweep expires a cart.
		if second[id] == nil || second[id].Applied != s.Applied || second[id].LastActivity != s.LastActivity {
			t.Errorf("session %s changed across restart and reload", id)
		}
	}
}

func load(t *testing.T, addr string, files []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := rees46.Load(ctx, files, rees46.LoadOptions{Brokers: []string{addr}, Topics: ingest.Topics{}}, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
}

// waitCaughtUp waits until the session stage has committed every record of
// its input topics.
func waitCaughtUp(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		lag, err := ingest.Lag(context.Background(), []string{addr}, processor.DefaultGroupID, ingest.Topics{}.Inputs())
		total := int64(0)
		for _, parts := range lag {
			for _, n := range parts {
				total += n
			}
		}
		if err == nil && total == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker still %d records behind after a minute (last error %v)", total, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readSessions(t *testing.T, dataDir string) map[string]*projection.Session {
	t.Helper()
	out := map[string]*projection.Session{}
	for p := range 4 {
		s, err := statestore.Open(processor.StoreDir(dataDir+"/worker", p), statestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = s.ScanAll(func(tenant, table, id string, value []byte) error {
			if table != "session" {
				return nil
			}
			sess, err := projection.Unmarshal(value)
			out[tenant+"/"+id] = sess
			return err
		})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestFlagErrorsNameTheSetting(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad batch size", nil, []string{"--data-dir", "x", "--batch-size", "0"}, "--batch-size 0"},
		{"bad env value", map[string]string{"GRIDSESSION_BATCH_SIZE": "abc"}, []string{"--data-dir", "x"}, "GRIDSESSION_BATCH_SIZE"},
		{"bad NATS URL", nil, []string{"--data-dir", "x", "--nats", "localhost:4222"}, "--nats"},
		{"missing data dir", nil, nil, "--data-dir"},
		{"missing contact key", nil, []string{"--data-dir", "x"}, "contact hash key"},
		{"bad log level", nil, []string{"--data-dir", "x", "--log-level", "loud"}, "--log-level"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			t.Setenv("GRIDSESSION_CONTACT_KEY", "")
			err := runWorker(context.Background(), c.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one naming %q", err, c.want)
			}
		})
	}
}

func TestRunFailsFastOnUnreachableBroker(t *testing.T) {
	t.Setenv("GRIDSESSION_CONTACT_KEY", "0123456789abcdef0123")
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	err := runWorker(ctx, []string{"--data-dir", t.TempDir(), "--kafka", "127.0.0.1:1"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("error %v, want one naming the broker", err)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("run hung until the test's deadline")
	}
}

// TestKeySecretStoredNowhere creates an access key against a running dev,
// checks it and a wrong one, then searches everything dev wrote to disk
// (the broker's log segments and the worker's Pebble stores) for the
// secret.
func TestKeySecretStoredNowhere(t *testing.T) {
	dataDir := t.TempDir()
	addr, stop := startDev(t, dataDir)

	out, err := runKeysCommand(t, "create", "--kafka", addr, "--tenant", "shop", "--space", "store-1")
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	id := browserIDLine.FindStringSubmatch(out)[1]
	secret := accessKeyLine.FindStringSubmatch(out)[1]

	var logs syncBuffer
	reg := startKeysRegistry(t, addr, zerolog.New(&logs))
	ctx := context.Background()
	if err := reg.Check(ctx, id, secret, "shop", "store-1"); err != nil {
		t.Fatalf("right key rejected: %v", err)
	}
	if err := reg.Check(ctx, id, secret+"x", "shop", "store-1"); err == nil {
		t.Fatal("wrong key accepted")
	}
	reg.Close()
	stop()

	found := 0
	err = filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(id)) {
			found++
		}
		if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte(secret[len("gsk_"):])) {
			t.Errorf("%s contains the access key", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Error("no file contains the browser id either: the search looked in the wrong place")
	}
	if strings.Contains(logs.String(), secret[len("gsk_"):]) {
		t.Errorf("registry log contains the access key:\n%s", logs.String())
	}
}
