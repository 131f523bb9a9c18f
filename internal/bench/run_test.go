package bench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/publish"
)

// startEmbedded starts the embedded servers and worker for one test.
func startEmbedded(t *testing.T, topics ingest.Topics, subjects publish.Subjects) *Embedded {
	t.Helper()
	servers, err := StartEmbedded(EmbeddedOptions{
		Topics:        topics,
		Subjects:      subjects,
		Partitions:    4,
		OnWorkerError: func(err error) { t.Errorf("embedded worker: %v", err) },
		Log:           testLogger(t),
	})
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(func() {
		if err := servers.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return servers
}

func testLogger(t *testing.T) zerolog.Logger {
	if os.Getenv("GRIDSESSION_TEST_LOG") != "" {
		return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
	}
	return zerolog.Nop()
}

// checkConsistent checks the measures that every complete run must agree
// on.
func checkConsistent(t *testing.T, s Summary) {
	t.Helper()
	if s.EventsSent == 0 {
		t.Fatal("EventsSent = 0, want events")
	}
	if s.EventsFolded != s.EventsSent {
		t.Errorf("EventsFolded = %d, want EventsSent %d", s.EventsFolded, s.EventsSent)
	}
	if s.Missing != 0 {
		t.Errorf("Missing = %d, want 0", s.Missing)
	}
	if s.Dropped != 0 {
		t.Errorf("Dropped = %d, want 0", s.Dropped)
	}
	if s.EventLatency.Count != s.EventsFolded {
		t.Errorf("EventLatency.Count = %d, want EventsFolded %d", s.EventLatency.Count, s.EventsFolded)
	}
	checkLatency(t, "EventLatency", s.EventLatency)
	if s.Seconds <= 0 || s.EventsPerSecond <= 0 {
		t.Errorf("Seconds = %v, EventsPerSecond = %v, want both positive", s.Seconds, s.EventsPerSecond)
	}
	if s.SendSeconds > s.Seconds {
		t.Errorf("SendSeconds = %v, want at most Seconds %v", s.SendSeconds, s.Seconds)
	}
	if s.SessionsSent == 0 || s.ClientsSent == 0 {
		t.Errorf("SessionsSent = %d, ClientsSent = %d, want both positive", s.SessionsSent, s.ClientsSent)
	}
}

func checkLatency(t *testing.T, name string, l Latency) {
	t.Helper()
	if l.P50Ms <= 0 {
		t.Errorf("%s.P50Ms = %v, want positive", name, l.P50Ms)
	}
	if l.P50Ms > l.P99Ms {
		t.Errorf("%s.P50Ms = %v, want at most P99Ms %v", name, l.P50Ms, l.P99Ms)
	}
	if l.P99Ms > l.MaxMs {
		t.Errorf("%s.P99Ms = %v, want at most MaxMs %v", name, l.P99Ms, l.MaxMs)
	}
}

func TestRunSyntheticObservesEveryEvent(t *testing.T) {
	topics := ingest.Topics{Prefix: "bench-test"}
	subjects := publish.Subjects{Prefix: "bt"}
	servers := startEmbedded(t, topics, subjects)

	var progress []Progress
	summary, err := Run(context.Background(), Config{
		Brokers:          servers.Brokers(),
		NATSURL:          servers.NATSURL(),
		Topics:           topics,
		Subjects:         subjects,
		Rate:             300,
		Duration:         3 * time.Second,
		OpenSessions:     50,
		StateLatency:     true,
		Progress:         func(p Progress) { progress = append(progress, p) },
		ProgressInterval: time.Second,
		Log:              testLogger(t),
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	checkConsistent(t, summary)
	if summary.Source != SourceSynthetic || summary.Seed == 0 {
		t.Errorf("Source = %q, Seed = %d, want synthetic with a seed", summary.Source, summary.Seed)
	}
	if !strings.HasPrefix(summary.Tenant, "bench-") {
		t.Errorf("Tenant = %q, want the bench- default", summary.Tenant)
	}
	if summary.Partitions != 4 {
		t.Errorf("Partitions = %d, want 4", summary.Partitions)
	}
	// Pacing never sends more than 300 events/s for 3 s; a loaded machine
	// may send fewer.
	if summary.EventsSent > 900 {
		t.Errorf("EventsSent = %d, want at most 900", summary.EventsSent)
	}
	if summary.StateLatency == nil || summary.StateLatency.Count == 0 {
		t.Fatalf("StateLatency = %+v, want measured", summary.StateLatency)
	}
	checkLatency(t, "StateLatency", *summary.StateLatency)
	if summary.StateLatency.Count > summary.EventsFolded {
		t.Errorf("StateLatency.Count = %d, want at most EventsFolded %d", summary.StateLatency.Count, summary.EventsFolded)
	}
	if len(progress) == 0 {
		t.Error("Progress was never called")
	}
}

func TestRunFilesStopsAtEventLimit(t *testing.T) {
	topics := ingest.Topics{Prefix: "bench-files"}
	subjects := publish.Subjects{Prefix: "bf"}
	servers := startEmbedded(t, topics, subjects)

	// Four rows in two sessions give six events a pass, so 15 events take
	// three passes, the last one cut short.
	path := writeSample(t)
	summary, err := Run(context.Background(), Config{
		Brokers:   servers.Brokers(),
		NATSURL:   servers.NATSURL(),
		Topics:    topics,
		Subjects:  subjects,
		Tenant:    "bench-files-test",
		MaxEvents: 15,
		Files:     []string{path},
		Log:       testLogger(t),
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	checkConsistent(t, summary)
	if summary.EventsSent != 15 {
		t.Errorf("EventsSent = %d, want the limit 15", summary.EventsSent)
	}
	if summary.Source != SourceFiles || summary.Tenant != "bench-files-test" {
		t.Errorf("Source = %q, Tenant = %q, want files and the configured tenant", summary.Source, summary.Tenant)
	}
	if summary.StateLatency != nil {
		t.Errorf("StateLatency = %+v, want nil when not requested", summary.StateLatency)
	}
}

func TestRunWithoutWorkerTimesOut(t *testing.T) {
	topics := ingest.Topics{Prefix: "bench-none"}
	servers := startEmbedded(t, topics, publish.Subjects{Prefix: "bn"})

	// The worker publishes under "bn", so the run, which subscribes under
	// "other", never receives the probe events.
	_, err := Run(context.Background(), Config{
		Brokers:       servers.Brokers(),
		NATSURL:       servers.NATSURL(),
		Topics:        topics,
		Subjects:      publish.Subjects{Prefix: "other"},
		MaxEvents:     10,
		WarmupTimeout: 2 * time.Second,
		Log:           testLogger(t),
	})
	if !errors.Is(err, ErrNoWorker) {
		t.Fatalf("Run error = %v, want ErrNoWorker", err)
	}
}

func TestRunRejectsMissingFile(t *testing.T) {
	_, err := Run(context.Background(), Config{
		Brokers:   []string{"127.0.0.1:1"},
		NATSURL:   "nats://127.0.0.1:1",
		MaxEvents: 10,
		Files:     []string{filepath.Join(t.TempDir(), "missing.csv")},
	})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Run error = %v, want one wrapping os.ErrNotExist", err)
	}
}

func TestConfigValidate(t *testing.T) {
	valid := Config{Brokers: []string{"127.0.0.1:9092"}, NATSURL: "nats://127.0.0.1:4222", Duration: time.Second}
	if err := valid.Validate(); err != nil {
		t.Fatalf("Validate of a valid config: %v", err)
	}
	cases := map[string]struct {
		mutate func(*Config)
		want   string
	}{
		"no brokers":         {func(c *Config) { c.Brokers = nil }, "no Kafka brokers"},
		"no nats":            {func(c *Config) { c.NATSURL = "" }, "no NATS URL"},
		"negative rate":      {func(c *Config) { c.Rate = -1 }, "invalid rate"},
		"no end":             {func(c *Config) { c.Duration = 0 }, "no end"},
		"negative events":    {func(c *Config) { c.MaxEvents = -5 }, "invalid event limit"},
		"too many sessions":  {func(c *Config) { c.OpenSessions = maxOpenSessions + 1 }, "invalid open sessions"},
		"tenant with dot":    {func(c *Config) { c.Tenant = "a.b" }, "invalid tenant"},
		"bad subject prefix": {func(c *Config) { c.Subjects = publish.Subjects{Prefix: "a.*"} }, "prefix"},
		"bad topic prefix":   {func(c *Config) { c.Topics = ingest.Topics{Prefix: "a b"} }, "topic prefix"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := valid
			tc.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
