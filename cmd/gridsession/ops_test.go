package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/embedded"
)

var httpLine = regexp.MustCompile(`HTTP: +http://(\S+)`)

// TestDevServesProbesAndMetrics runs dev with --http on a random port and
// checks the address it prints serves the probes and the metrics.
func TestDevServesProbesAndMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runDev(ctx, []string{"--data-dir", t.TempDir(), "--kafka-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--partitions", "2", "--http", "127.0.0.1:0", "--log-level", "warn"}, out)
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("dev: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("dev did not stop within 60s")
		}
	}()

	deadline := time.Now().Add(30 * time.Second)
	for !httpLine.MatchString(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("dev printed no HTTP address within 30s:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	base := "http://" + httpLine.FindStringSubmatch(out.String())[1]

	deadline = time.Now().Add(60 * time.Second)
	for {
		status, body := httpGet(t, base+"/readyz")
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %q after 60s", status, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status, body := httpGet(t, base+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz: %d %q, want 200", status, body)
	}
	status, body := httpGet(t, base+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics: status %d", status)
	}
	for _, want := range []string{
		`gridsession_partitions_owned{stage="session"} 2`,
		`gridsession_partitions_owned{stage="space"} 2`,
		`gridsession_records_applied_total{stage="session",topic="gridsession.events"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

func TestOpsFlagErrorsNameTheSetting(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"http without port", nil, []string{"--data-dir", "x", "--http", "9464"}, `--http "9464"`},
		{"http port out of range", nil, []string{"--data-dir", "x", "--http", "127.0.0.1:70000"}, "--http"},
		{"http port by name", nil, []string{"--data-dir", "x", "--http", "127.0.0.1:http"}, "--http"},
		{"bad http env value", map[string]string{"GRIDSESSION_HTTP": "nohost"}, []string{"--data-dir", "x"}, "--http"},
		{"zero connect timeout", nil, []string{"--data-dir", "x", "--connect-timeout", "0s"}, "--connect-timeout 0s"},
		{"connect timeout without unit", map[string]string{"GRIDSESSION_CONNECT_TIMEOUT": "30"}, []string{"--data-dir", "x"}, "GRIDSESSION_CONNECT_TIMEOUT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			t.Setenv("GRIDSESSION_CONTACT_KEY", "0123456789abcdef0123")
			err := runWorker(context.Background(), c.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one naming %q", err, c.want)
			}
		})
	}
}

func TestRunFailsOnHTTPAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("GRIDSESSION_CONTACT_KEY", "0123456789abcdef0123")

	err = runWorker(context.Background(), []string{"--data-dir", t.TempDir(), "--kafka", "127.0.0.1:1", "--http", ln.Addr().String()}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--http") || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("error %v, want one naming --http and %s", err, ln.Addr())
	}
}

func TestRunFailsFastOnUnreachableNATS(t *testing.T) {
	kafka := embedded.KafkaForTest(t, ingest.Topics{}.All(), 1)
	t.Setenv("GRIDSESSION_CONTACT_KEY", "0123456789abcdef0123")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	started := time.Now()
	err := runWorker(ctx, []string{"--data-dir", t.TempDir(), "--kafka", kafka.Addr(), "--nats", "nats://127.0.0.1:1", "--connect-timeout", "2s"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "nats://127.0.0.1:1") || !strings.Contains(err.Error(), "--connect-timeout") {
		t.Fatalf("error %v, want one naming the NATS URL and --connect-timeout", err)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("run hung until the test's deadline; it should give up after --connect-timeout 2s (took %s)", time.Since(started))
	}
}
