package access

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/embedded"
)

// testTimeout bounds every wait on the broker in these tests.
const testTimeout = 30 * time.Second

var testTopics = ingest.Topics{Prefix: "test"}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// startKafka starts an embedded broker without topics and returns its
// address.
func startKafka(t *testing.T) []string {
	t.Helper()
	return []string{embedded.KafkaForTest(t, nil, 1).Addr()}
}

// logBuffer collects log lines that several goroutines write.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fakeClock is a clock that tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// startRegistry starts a Registry on brokers that logs at debug level to
// the returned buffer, and closes it when the test ends.
func startRegistry(t *testing.T, brokers []string, opts ...Option) (*Registry, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	r := NewRegistry(brokers, testTopics, zerolog.New(logs).Level(zerolog.DebugLevel), opts...)
	t.Cleanup(r.Close)
	if err := r.Start(testContext(t)); err != nil {
		t.Fatalf("start registry: %v\nlog:\n%s", err, logs)
	}
	return r, logs
}

// createKey issues a key and fails the test on error.
func createKey(t *testing.T, brokers []string, tenant string, spaces ...string) (string, string) {
	t.Helper()
	id, secret, err := Create(testContext(t), brokers, testTopics, tenant, spaces)
	if err != nil {
		t.Fatalf("create key for tenant %q, spaces %q: %v", tenant, spaces, err)
	}
	return id, secret
}

// waitFor polls cond every 10 milliseconds until it returns true, and fails
// the test with what when that takes longer than timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
