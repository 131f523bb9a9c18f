package processor

import (
	"fmt"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/statestore"
)

// entry is one row of state as stored: in Pebble and in the changelog.
type entry struct {
	tenant, table, id string
	value             []byte
}

// timerOp sets or deletes one timer.
type timerOp struct {
	at  int64
	ref string
	del bool
}

// changes are the rows and timer moves a batch writes to its store, besides
// offsets.
type changes struct {
	entries []entry
	timers  []timerOp
}

func (c *changes) setTimer(at int64, ref string) {
	c.timers = append(c.timers, timerOp{at: at, ref: ref})
}
func (c *changes) deleteTimer(at int64, ref string) {
	c.timers = append(c.timers, timerOp{at: at, ref: ref, del: true})
}

// moveTimer moves the timer of ref from current to next, either of which
// may be 0 for none, and returns next for the state to remember.
func (c *changes) moveTimer(current, next int64, ref string) int64 {
	if next == current {
		return current
	}
	if current > 0 {
		c.deleteTimer(current, ref)
	}
	if next > 0 {
		c.setTimer(next, ref)
	}
	return next
}

// apply adds the changes to b, timers first so that an entry's new timer
// is never deleted by an older operation of the same batch.
func (c *changes) apply(b *statestore.Batch) {
	for _, t := range c.timers {
		if t.del {
			b.DeleteTimer(t.at, t.ref)
		} else {
			b.SetTimer(t.at, t.ref)
		}
	}
	for _, e := range c.entries {
		b.Put(e.tenant, e.table, e.id, e.value)
	}
}

// stage is one consumer group of the pipeline: the session stage over the
// clients, sessions and events topics, or the space stage over the
// space-updates topic. The partition loop is the same for both; a stage
// supplies what to read and how to fold it.
type stage interface {
	// name is the stage's name in logs and store directories.
	name() string
	// inputs lists the co-partitioned topics the stage reads.
	inputs() []string
	// changelog is the compacted topic that records the stage's state.
	changelog() string
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
	// encode returns the batch's state changes and timer moves, encoded as
	// they are stored; it is called once, after output.
	encode() (changes, error)
	// output returns what the batch sends: Kafka records (dead letters and
	// contributions) and NATS messages.
	output() batchOutput
	// committed is called after the Pebble commit, so the batch can hand
	// its decoded state to the partition's cache.
	committed()
}

// batchOutput holds the records and messages one batch sends before it
// commits.
type batchOutput struct {
	rejections []ingest.Rejection
	// records go to Kafka before NATS, with dead letters built from the
	// rejections.
	records  []kafka.Message
	messages []publish.Message
	// changelog holds the batch's state changes and, last, its marker.
	changelog []kafka.Message
	stats     BatchStats
}

// loadState returns the decoded state of k for a batch: from the batch
// itself, then the partition's cache, then the store, and fresh from
// empty when the store has none. It records the state in batch.
func loadState[T any](p *partition, batch map[stateKey]*T, k stateKey, table string, empty func() *T, decode func([]byte) (*T, error)) (*T, error) {
	if v, ok := batch[k]; ok {
		return v, nil
	}
	if v, ok := p.cache.get(k); ok {
		batch[k] = v.(*T)
		return batch[k], nil
	}
	raw, ok, err := p.store.Get(k.tenant, table, k.id)
	if err != nil {
		return nil, err
	}
	v := empty()
	if ok {
		if v, err = decode(raw); err != nil {
			return nil, fmt.Errorf("processor: decode stored %s %s/%s: %w", table, k.tenant, k.id, err)
		}
	}
	batch[k] = v
	return v, nil
}
