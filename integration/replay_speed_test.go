package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/internal/bench"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
)

// TestReplaySpeed measures processor.Replay over GRIDSESSION_REPLAY_EVENTS
// synthetic events (for example 1000000) spread over 100,000 sessions. It
// is a measurement, not a check, so it runs only when that variable is set:
//
//	GRIDSESSION_REPLAY_EVENTS=1000000 go test -run TestReplaySpeed -v -timeout 20m ./integration
//
// GRIDSESSION_REPLAY_PROFILE=FILE writes a CPU profile of the replay alone,
// without the records' production, to FILE.
func TestReplaySpeed(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("GRIDSESSION_REPLAY_EVENTS"))
	if n <= 0 {
		t.Skip("set GRIDSESSION_REPLAY_EVENTS to measure a replay")
	}
	c := newCluster(t)
	types := []string{"PRODUCT_VIEW", "PRODUCT_VIEW", "CART_ADD", "PRODUCT_VIEW", "CART_REMOVE", "PRODUCT_VIEW", "PURCHASE"}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	produced := time.Now()
	var msgs []kafka.Message
	for i := range n {
		session := fmt.Sprintf("%08x-8bb3-4e00-8c23-a032dfed738c", i%100_000)
		value := fmt.Sprintf(`{"tenantId":"rees46","eventTime":"2019-10-01T00:%02d:%02dZ","dataResidency":"EU","sessionId":%q,"clientId":"541312140","eventType":%q,"productId":"4460%04d","categoryId":"2103807459595387724","int1":1,"int2":3579,"captureId":"r-%d"}`,
			(i/60)%60, i%60, session, types[i%len(types)], i%50, i)
		msgs = append(msgs, kafka.Message{Topic: c.topics.Events(), Key: []byte(session), Value: []byte(value)})
		if len(msgs) == 5000 || i == n-1 {
			if err := c.producer.Send(ctx, msgs...); err != nil {
				t.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
	t.Logf("produced %d events in %s", n, time.Since(produced).Round(time.Millisecond))

	if path := os.Getenv("GRIDSESSION_REPLAY_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	var first time.Duration
	replayed := time.Now()
	summary, err := processor.Replay(ctx, processor.Config{
		Brokers:    c.brokers(),
		Topics:     c.topics,
		DataDir:    filepath.Join(t.TempDir(), "replay"),
		Projection: projection.Config{ContactKey: []byte("integration-contact-key")},
		Clock:      c.clock,
		Log:        zerolog.Nop(),
	}, c.producer, func(done, total int64) {
		if first == 0 {
			first = time.Since(replayed)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the first batch was applied %s after the replay started", first.Round(time.Millisecond))
	t.Logf("replayed %d records in %s: %.0f events/s, including joining the groups",
		summary.Records, summary.Took.Round(time.Millisecond), float64(summary.Records)/summary.Took.Seconds())

	// The same replay by the real binary, in its own process, gives the
	// replay's peak memory apart from the broker's.
	bin := buildBinary(t)
	cmd := exec.CommandContext(ctx, bin, "replay", "--quiet", "--log-level", "warn", "--kafka", c.kafka.Addr(),
		"--topic-prefix", c.topics.Prefix, "--clock", "2019-09-30T00:00:00Z", "--data-dir", filepath.Join(t.TempDir(), "replay-binary"))
	cmd.Env = append(os.Environ(), "GRIDSESSION_CONTACT_KEY=integration-contact-key")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// VmHWM only grows, so its last reading before the exit is the peak,
	// give or take the last 50ms. The rusage of the exited child would
	// count the test process too: the child starts as a vfork of it.
	var rss int64
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for waiting := true; waiting; {
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("gridsession replay: %v\n%s", err, stderr.String())
			}
			waiting = false
		case <-time.After(50 * time.Millisecond):
			if n, err := bench.ProcessMaxRSS(cmd.Process.Pid); err == nil {
				rss = n
			}
		}
	}
	out := stdout.String()
	t.Logf("gridsession replay: %s; peak RSS (VmHWM) %d MiB", strings.TrimSpace(out), rss>>20)
}
