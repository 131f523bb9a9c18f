package processor

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/schemas"
)

// Default consumer groups of the two stages.
const (
	DefaultGroupID      = "gridsession-session"
	DefaultSpaceGroupID = "gridsession-space"
)

// Config configures a Worker. Zero values take the defaults documented on
// each field; Brokers and DataDir are required.
type Config struct {
	Brokers []string
	// GroupID is the consumer group of the session stage; default
	// DefaultGroupID.
	GroupID string
	// SpaceGroupID is the consumer group of the space stage; default
	// DefaultSpaceGroupID.
	SpaceGroupID string
	Topics       ingest.Topics
	// Subjects names the NATS subjects; the zero value uses prefix
	// "gridsession".
	Subjects publish.Subjects
	// DataDir holds one Pebble store per partition under DataDir/session.
	DataDir string
	// Validator checks records; nil serves schemas.DefaultRegions.
	Validator *schemas.Validator
	// Projection configures the reducers; its zero fields take their
	// defaults. ContactKey is required.
	Projection projection.Config
	// BatchSize is the maximum number of records folded per batch; default
	// 1000.
	BatchSize int
	// BatchLinger is how long a batch waits for more records after the
	// first one; default 5ms.
	BatchLinger time.Duration
	// Queries, when not nil, is the NATS connection on which the worker
	// serves gets for the partitions it owns.
	Queries *nats.Conn
	// Access checks the access keys of space gets; nil rejects every space
	// get as unavailable.
	Access AccessChecker
	// Replay rebuilds state from the log alone: no restore from the
	// changelog, and nothing is written anywhere but Pebble (no NATS
	// messages, dead letters, contributions, changelog records or Kafka
	// commits). The space stage folds the contributions already in the
	// space-updates topic.
	Replay bool
	// StartTime, when set, makes partitions without local state start at
	// the first record at or after it instead of the earliest retained.
	StartTime time.Time
	// Clock returns the current time for expiry; nil means time.Now. Tests
	// and backfills can run on event time with another clock.
	Clock func() time.Time
	// SweepInterval is how often each partition looks for expired values;
	// default 1s, so a removal is published within about a second of its
	// expiry.
	SweepInterval time.Duration
	// CacheEntries is how many decoded sessions or spaces each partition
	// keeps in memory between batches; default 4096.
	CacheEntries int
	// NoSync skips fsync of Pebble commits. Only for tests and benchmarks:
	// a machine crash can then lose applied state.
	NoSync bool
	Log    zerolog.Logger
	Hooks  Hooks
}

func (c *Config) setDefaults() {
	if c.GroupID == "" {
		c.GroupID = DefaultGroupID
	}
	if c.SpaceGroupID == "" {
		c.SpaceGroupID = DefaultSpaceGroupID
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.CacheEntries == 0 {
		c.CacheEntries = defaultCacheEntries
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = time.Second
	}
	if c.Validator == nil {
		c.Validator = schemas.NewValidator()
	}
	if c.BatchSize == 0 {
		c.BatchSize = 1000
	}
	if c.BatchLinger == 0 {
		c.BatchLinger = 5 * time.Millisecond
	}
	c.Projection = c.Projection.WithDefaults()
}

// Validate reports the first invalid setting.
func (c *Config) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("processor: no Kafka brokers configured")
	case c.DataDir == "":
		return errors.New("processor: data directory is required")
	case len(c.Projection.ContactKey) == 0:
		return errors.New("processor: contact hash key is required")
	case c.GroupID == c.SpaceGroupID:
		return fmt.Errorf("processor: the session and space stages need different consumer groups, both are %q", c.GroupID)
	case c.SweepInterval < 0:
		return fmt.Errorf("processor: sweep interval %s must be positive", c.SweepInterval)
	case c.BatchSize < 0:
		return fmt.Errorf("processor: batch size %d must be positive", c.BatchSize)
	}
	return nil
}
