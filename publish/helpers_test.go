package publish

import (
	"bytes"
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gridsession/gridsession/internal/embedded"
)

// waitTimeout bounds every wait on the server in these tests.
const waitTimeout = 10 * time.Second

// waitFor polls cond until it holds, and fails the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// connect opens a plain client connection that the test closes at its end.
func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// subscribe subscribes a new connection to subject and waits until the
// server has the subscription, so that messages published afterwards from
// another connection reach it.
func subscribe(t *testing.T, url, subject string) *nats.Subscription {
	t.Helper()
	nc := connect(t, url)
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		t.Fatalf("subscribe to %q: %v", subject, err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("flush subscription to %q: %v", subject, err)
	}
	return sub
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startNATS(t *testing.T, addr string) *embedded.NATS {
	t.Helper()
	n, err := embedded.StartNATS(embedded.NATSOptions{Addr: addr})
	if err != nil {
		t.Fatalf("start nats on %s: %v", addr, err)
	}
	t.Cleanup(n.Close)
	return n
}

// syncBuffer is a bytes.Buffer that zerolog and the test may use from
// different goroutines.
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
