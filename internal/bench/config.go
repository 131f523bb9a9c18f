package bench

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/schemas"
)

// Defaults of Config.
const (
	DefaultDuration         = 30 * time.Second
	DefaultDrainTimeout     = 60 * time.Second
	DefaultWarmupTimeout    = 60 * time.Second
	DefaultOpenSessions     = 1000
	DefaultProgressInterval = 5 * time.Second
)

// maxOpenSessions bounds Config.OpenSessions, because the generator keeps
// every open session in memory.
const maxOpenSessions = 1_000_000

// Config configures Run. Brokers and NATSURL are required, and Duration or
// MaxEvents must bound the run; the other zero values take the defaults
// documented on each field.
type Config struct {
	// Brokers are the Kafka bootstrap addresses, host:port.
	Brokers []string
	// NATSURL is the URL of the NATS server that the worker publishes to.
	NATSURL string
	// Topics names the Kafka topics; the zero value uses the prefix
	// ingest.DefaultPrefix.
	Topics ingest.Topics
	// Subjects names the NATS subjects; the zero value uses the prefix
	// publish.DefaultPrefix.
	Subjects publish.Subjects

	// Tenant is the tenantId of every record. Empty means "bench-" and the
	// run id, so that every run starts from empty state.
	Tenant string
	// Rate is the target in events per second. Zero sends events as fast as
	// the producer accepts them.
	Rate float64
	// Duration stops sending after this time; zero means no time limit.
	Duration time.Duration
	// MaxEvents stops sending after this many events; zero means no limit.
	MaxEvents int64

	// Files are REES46 CSV files to replay, again and again until the run
	// ends, each pass under new session and client ids. Empty uses the
	// synthetic generator.
	Files []string
	// OpenSessions is how many synthetic sessions send events at the same
	// time; default DefaultOpenSessions.
	OpenSessions int
	// Seed seeds the synthetic generator; zero picks a random seed, which
	// the Summary reports.
	Seed uint64

	// StateLatency also measures the latency from a CART_ADD event to the
	// session state message that follows it.
	StateLatency bool
	// DrainTimeout is how long Run waits after the last send for events
	// still on their way; default DefaultDrainTimeout.
	DrainTimeout time.Duration
	// WarmupTimeout is how long Run waits for the probe events that it
	// sends to every partition before the run starts; default
	// DefaultWarmupTimeout. A worker that has just started needs this time
	// to join its consumer group.
	WarmupTimeout time.Duration

	// Progress, when not nil, is called every ProgressInterval while the
	// run sends and drains, from a goroutine of its own.
	Progress func(Progress)
	// ProgressInterval is the time between Progress calls; default
	// DefaultProgressInterval.
	ProgressInterval time.Duration

	Log zerolog.Logger
}

// Progress is the state of a run that is still going.
type Progress struct {
	// Elapsed is the time since the first event was sent, or since Run
	// started while no event has been sent yet.
	Elapsed time.Duration
	// Sent counts the events that Kafka acknowledged.
	Sent int64
	// Folded counts the sent events observed on NATS.
	Folded int64
}

// withDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.OpenSessions == 0 {
		c.OpenSessions = DefaultOpenSessions
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.WarmupTimeout == 0 {
		c.WarmupTimeout = DefaultWarmupTimeout
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = DefaultProgressInterval
	}
	return c
}

// Validate returns an error naming the first invalid setting. It checks
// the values that Run would use, so zero values that take a default pass.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case len(c.Brokers) == 0:
		return errors.New("bench: no Kafka brokers configured")
	case c.NATSURL == "":
		return errors.New("bench: no NATS URL configured")
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("bench: invalid rate %v: want events per second, 0 for as fast as possible", c.Rate)
	case c.Duration < 0:
		return fmt.Errorf("bench: invalid duration %s: must not be negative", c.Duration)
	case c.MaxEvents < 0:
		return fmt.Errorf("bench: invalid event limit %d: must not be negative", c.MaxEvents)
	case c.Duration == 0 && c.MaxEvents == 0:
		return errors.New("bench: the run has no end: set a duration, an event limit or both")
	case c.OpenSessions < 1 || c.OpenSessions > maxOpenSessions:
		return fmt.Errorf("bench: invalid open sessions %d: want 1 to %d", c.OpenSessions, maxOpenSessions)
	case c.DrainTimeout < 0:
		return fmt.Errorf("bench: invalid drain timeout %s: must not be negative", c.DrainTimeout)
	case c.WarmupTimeout < 0:
		return fmt.Errorf("bench: invalid warm-up timeout %s: must not be negative", c.WarmupTimeout)
	case c.ProgressInterval < 0:
		return fmt.Errorf("bench: invalid progress interval %s: must not be negative", c.ProgressInterval)
	}
	if c.Tenant != "" {
		if err := schemas.CheckID("tenantId", c.Tenant); err != nil {
			return fmt.Errorf("bench: invalid tenant: %w", err)
		}
	}
	if err := c.Subjects.Validate(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if c.Topics.Prefix != "" {
		if err := ingest.ValidatePrefix(c.Topics.Prefix); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	return nil
}
