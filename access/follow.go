package access

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

// Reading of the access-keys topic.
const (
	// fetchMaxWait bounds how long one fetch waits on the broker for new
	// records, and so how long Close waits for a fetch in flight. With
	// MinBytes 1 a Kafka broker responds as soon as a record arrives, so
	// the wait does not delay revocations. kafka-go also uses it as the
	// deadline for the first bytes of each response, so it must exceed
	// the broker's response time.
	fetchMaxWait = 500 * time.Millisecond
	// readRetryDelay is the pause before a partition reader that failed is
	// opened again.
	readRetryDelay = time.Second
)

// catchUp tracks how far each partition has been read against the end
// offsets that Start listed, and closes done once every partition has
// reached its end offset. A catchUp is safe for concurrent use.
type catchUp struct {
	done chan struct{}

	mu      sync.Mutex
	ranges  map[int]partitionRange
	next    map[int]int64
	lastErr map[int]error
	pending int
}

func newCatchUp(ranges []partitionRange) *catchUp {
	c := &catchUp{
		done:    make(chan struct{}),
		ranges:  map[int]partitionRange{},
		next:    map[int]int64{},
		lastErr: map[int]error{},
	}
	for _, p := range ranges {
		c.ranges[p.id] = p
		c.next[p.id] = p.first
		if p.first < p.end {
			c.pending++
		}
	}
	if c.pending == 0 {
		close(c.done)
	}
	return c
}

// advance records that partition has been read up to, but not including,
// offset next.
func (c *catchUp) advance(partition int, next int64) {
	c.mu.Lock()
	defer c.mu.Unlock()

	before := c.next[partition]
	c.next[partition] = next
	end := c.ranges[partition].end
	if before < end && next >= end {
		c.pending--
		if c.pending == 0 {
			close(c.done)
		}
	}
}

func (c *catchUp) fail(partition int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastErr[partition] = err
}

// String describes the partitions that have not reached their end offset,
// with the last read error of each.
func (c *catchUp) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()

	var parts []string
	for id := range len(c.ranges) {
		p, ok := c.ranges[id]
		if !ok || c.next[id] >= p.end {
			continue
		}
		s := fmt.Sprintf("partition %d at offset %d of end offset %d", id, c.next[id], p.end)
		if err := c.lastErr[id]; err != nil {
			s += fmt.Sprintf(" (last error: %v)", err)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// follow reads partition p from its first offset until ctx ends, applies
// every record to r and reports progress to c. When the reader fails, it
// logs the error and opens a new reader at the next offset.
//
// NOTE: a partition counts as read up to its end offset only when a record
// at or after end-1 arrives. Transaction markers or removed tombstones at
// the end of a partition would therefore keep Start waiting until its
// timeout. gridsession writes this topic without transactions or
// tombstones.
func (r *Registry) follow(ctx context.Context, p partitionRange, c *catchUp) {
	defer r.wg.Done()

	next := kafka.FirstOffset
	for ctx.Err() == nil {
		err := r.readPartition(ctx, p.id, &next, c)
		if ctx.Err() != nil {
			return
		}
		c.fail(p.id, err)
		r.readLog.Warn().Err(err).Str("topic", r.topic).Int("partition", p.id).Int64("offset", next).
			Msg("read of access keys failed; retrying")
		select {
		case <-time.After(readRetryDelay):
		case <-ctx.Done():
		}
	}
}

// readPartition reads partition from *next until ctx ends or the reader
// fails, and advances *next past every record it applies.
func (r *Registry) readPartition(ctx context.Context, partition int, next *int64, c *catchUp) error {
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        r.brokers,
		Topic:          r.topic,
		Partition:      partition,
		MinBytes:       1,
		MaxBytes:       1 << 20,
		MaxWait:        fetchMaxWait,
		ReadBackoffMin: 50 * time.Millisecond,
		ReadBackoffMax: time.Second,
		ErrorLogger:    kafkaLogger(r.readLog),
	})
	defer reader.Close()
	if err := reader.SetOffset(*next); err != nil {
		return fmt.Errorf("set offset %d: %w", *next, err)
	}

	for {
		m, err := reader.FetchMessage(ctx)
		if err != nil {
			return err
		}
		r.apply(m)
		*next = m.Offset + 1
		c.advance(partition, *next)
	}
}

// kafkaLogger passes kafka-go's error lines to log, which is expected to be
// rate-limited. Read timeouts go to debug level because kafka-go retries
// them itself, and everything else to warn level.
func kafkaLogger(log zerolog.Logger) kafka.LoggerFunc {
	return func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		level := zerolog.WarnLevel
		if strings.Contains(msg, "i/o timeout") {
			level = zerolog.DebugLevel
		}
		log.WithLevel(level).Str("component", "kafka-go").Msg(msg)
	}
}
