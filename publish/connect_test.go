package publish

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/internal/embedded"
)

func TestConnectReconnectsAfterServerRestart(t *testing.T) {
	addr := freeAddr(t)
	n := startNATS(t, addr)
	logs := &syncBuffer{}

	nc, err := Connect(testContext(t), n.ClientURL(), "reconnect-test", zerolog.New(logs))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer nc.Close()
	p := New(nc)
	msgs := []Message{{Subject: "gridsession.a.session.b.state", Data: []byte("{}")}}

	n.Close()
	waitFor(t, "the client to see the disconnect", func() bool { return !nc.IsConnected() })
	if err := p.Publish(testContext(t), msgs); !errors.Is(err, ErrNotConnected) {
		t.Errorf("publish while disconnected: %v, expected ErrNotConnected", err)
	}

	startNATS(t, addr)
	waitFor(t, "the client to reconnect", nc.IsConnected)
	if err := p.Publish(testContext(t), msgs); err != nil {
		t.Errorf("publish after reconnect: %v", err)
	}

	for _, want := range []string{`"message":"nats connected"`, `"message":"nats connection lost, reconnecting"`, `"message":"nats reconnected"`, `"nats_name":"reconnect-test"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
}

func TestConnectWaitsForServer(t *testing.T) {
	addr := freeAddr(t)
	type started struct {
		n   *embedded.NATS
		err error
	}
	server := make(chan started, 1)
	time.AfterFunc(300*time.Millisecond, func() {
		n, err := embedded.StartNATS(embedded.NATSOptions{Addr: addr})
		server <- started{n, err}
	})

	nc, connectErr := Connect(testContext(t), "nats://"+addr, "late-server", zerolog.Nop())
	s := <-server
	if s.err != nil {
		t.Fatalf("start nats on %s: %v", addr, s.err)
	}
	defer s.n.Close()
	if connectErr != nil {
		t.Fatalf("connect to a server that starts late: %v", connectErr)
	}
	nc.Close()
}

func TestConnectGivesUpWhenContextEnds(t *testing.T) {
	addr := freeAddr(t)
	url := "nats://user:s3cret@" + addr
	logs := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()

	start := time.Now()
	nc, err := Connect(ctx, url, "no-server", zerolog.New(logs))
	elapsed := time.Since(start)
	if err == nil {
		nc.Close()
		t.Fatalf("connect to %s with no server succeeded", addr)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "nats://redacted@"+addr) {
		t.Errorf("error %q does not name the URL without its credentials", err)
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(logs.String(), "s3cret") {
		t.Errorf("the password leaked into the error %q or the logs:\n%s", err, logs)
	}
	if elapsed > 1500*time.Millisecond {
		t.Errorf("connect returned after %s, expected soon after the 500ms context", elapsed)
	}
}

func TestRedactURLs(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://user:pass@host:4222", "nats://redacted@host:4222"},
		{"nats://token@host:4222", "nats://redacted@host:4222"},
		{"tls://u:p@a:1, nats://b:2", "tls://redacted@a:1,nats://b:2"},
		{"u:p@host:4222", "redacted@host:4222"},
		{"nats://u:p@ss@host", "nats://redacted@host"},
	}
	for _, tt := range tests {
		if got := redactURLs(tt.in); got != tt.want {
			t.Errorf("redactURLs(%q) = %q, expected %q", tt.in, got, tt.want)
		}
	}
}

func TestRetryDelayBounds(t *testing.T) {
	for attempt := range 100 {
		d := retryDelay(attempt)
		if d < minRetryDelay || d > maxRetryDelay+maxRetryDelay/5 {
			t.Errorf("retryDelay(%d) = %s, expected %s to %s", attempt, d, minRetryDelay, maxRetryDelay*6/5)
		}
	}
	if d := retryDelay(1); d > minRetryDelay*6/5 {
		t.Errorf("retryDelay(1) = %s, expected about %s", d, minRetryDelay)
	}
}
