package processor

import (
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/schemas"
)

// DefaultGroupID is the consumer group of the session stage.
const DefaultGroupID = "gridsession-session"

// Config configures a Worker. Zero values take the defaults documented on
// each field; Brokers and DataDir are required.
type Config struct {
	Brokers []string
	// GroupID is the Kafka consumer group; default DefaultGroupID.
	GroupID string
	Topics  ingest.Topics
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
	case c.BatchSize < 0:
		return fmt.Errorf("processor: batch size %d must be positive", c.BatchSize)
	}
	return nil
}
