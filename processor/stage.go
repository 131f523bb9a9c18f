package processor

import (
	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/statestore"
)

// stage is one consumer group of the pipeline: the session stage over the
// clients, sessions and events topics, or the space stage over the
// space-updates topic. The partition loop is the same for both; a stage
// supplies what to read and how to fold it.
type stage interface {
	// name is the stage's name in logs and store directories.
	name() string
	// inputs lists the co-partitioned topics the stage reads.
	inputs() []string
	// newBatch starts folding one batch of partition p.
	newBatch(p *partition) batch
}

// batch folds the records of one batch, and the timers that came due, into
// state kept in memory until the batch commits.
type batch interface {
	// fold applies one record. It returns only store failures: a bad record
	// becomes a rejection.
	fold(rec ingest.Record) error
	// expire handles the timers due at now, in milliseconds since the Unix
	// epoch.
	expire(timers []statestore.Timer, now int64) error
	// write adds the batch's state and timers to b.
	write(b *statestore.Batch) error
	// output returns what the batch sends: Kafka records (dead letters and
	// contributions) and NATS messages.
	output() batchOutput
	// committed is called after the Pebble commit, so the batch can hand
	// its decoded state to the partition's cache.
	committed()
}

// batchOutput is what one batch sends before it commits.
type batchOutput struct {
	rejections []ingest.Rejection
	// records go to Kafka before NATS, with dead letters built from the
	// rejections.
	records  []kafka.Message
	messages []publish.Message
	stats    BatchStats
}
