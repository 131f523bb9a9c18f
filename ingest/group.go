package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

// GroupConfig configures a Group.
type GroupConfig struct {
	// ID is the Kafka consumer group id.
	ID      string
	Brokers []string
	// Topics are co-partitioned input topics; partition N of all of them is
	// assigned to one member.
	Topics []string
	// SessionTimeout is how long the coordinator waits for heartbeats before
	// it moves a member's partitions. Default 10s.
	SessionTimeout time.Duration
	Log            zerolog.Logger
}

// Claim is one partition number owned by this member for one generation.
type Claim struct {
	// Generation is the consumer group generation id.
	Generation int
	Partition  int
	// Committed maps each topic to the offset committed to Kafka for this
	// partition (the next offset to read), or to a negative value when the
	// group has none.
	Committed map[string]int64

	gen *kafka.Generation
}

// Commit stores offsets in Kafka for this claim's partition: offsets maps a
// topic to the last applied offset, and the committed value is that plus
// one, following Kafka's next-record convention. It fails once the
// generation has ended.
func (c *Claim) Commit(applied map[string]int64) error {
	offsets := make(map[string]map[int]int64, len(applied))
	for topic, off := range applied {
		offsets[topic] = map[int]int64{c.Partition: off + 1}
	}
	if err := c.gen.CommitOffsets(offsets); err != nil {
		return fmt.Errorf("ingest: commit offsets of partition %d in generation %d: %w", c.Partition, c.Generation, err)
	}
	return nil
}

// Group is a Kafka consumer group member that runs a handler per owned
// partition number. It uses the range assignor, which gives partition N of
// every co-partitioned topic to the same member (see coPartitioned).
type Group struct {
	cfg GroupConfig
	cg  *kafka.ConsumerGroup
}

// NewGroup joins no group yet; Run does.
func NewGroup(cfg GroupConfig) (*Group, error) {
	if cfg.ID == "" {
		return nil, errors.New("ingest: group id is required")
	}
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("ingest: no brokers configured")
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = 10 * time.Second
	}
	return &Group{cfg: cfg}, nil
}

// Handler processes one claim until ctx ends, which happens when the
// generation ends or Run's context is cancelled. It must return promptly
// then: the group waits for every handler before it rejoins.
type Handler func(ctx context.Context, claim *Claim)

// Run joins the group and calls handle once per owned partition number in
// each generation, each in its own goroutine. It returns when ctx ends,
// after leaving the group.
func (g *Group) Run(ctx context.Context, handle Handler) error {
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                     g.cfg.ID,
		Brokers:                g.cfg.Brokers,
		Topics:                 g.cfg.Topics,
		GroupBalancers:         []kafka.GroupBalancer{coPartitioned{}},
		SessionTimeout:         g.cfg.SessionTimeout,
		HeartbeatInterval:      g.cfg.SessionTimeout / 5,
		RebalanceTimeout:       30 * time.Second,
		JoinGroupBackoff:       time.Second,
		WatchPartitionChanges:  true,
		PartitionWatchInterval: 30 * time.Second,
		StartOffset:            kafka.FirstOffset,
		ErrorLogger:            kafkaLogger(g.cfg.Log.With().Str("group", g.cfg.ID).Logger()),
	})
	if err != nil {
		return fmt.Errorf("ingest: create consumer group %s: %w", g.cfg.ID, err)
	}
	g.cg = cg
	defer cg.Close()

	for {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, kafka.ErrGroupClosed) {
				return nil
			}
			g.cfg.Log.Warn().Err(err).Str("group", g.cfg.ID).Msg("join consumer group failed, retrying")
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		g.startGeneration(gen, handle)
	}
}

// startGeneration starts a handler per partition number assigned in gen.
func (g *Group) startGeneration(gen *kafka.Generation, handle Handler) {
	claims := map[int]*Claim{}
	for _, topic := range g.cfg.Topics {
		for _, pa := range gen.Assignments[topic] {
			c, ok := claims[pa.ID]
			if !ok {
				c = &Claim{Generation: int(gen.ID), Partition: pa.ID, Committed: map[string]int64{}, gen: gen}
				claims[pa.ID] = c
			}
			c.Committed[topic] = pa.Offset
		}
	}

	partitions := make([]int, 0, len(claims))
	for p := range claims {
		partitions = append(partitions, p)
	}
	slices.Sort(partitions)
	g.cfg.Log.Info().Str("group", g.cfg.ID).Int32("generation", gen.ID).Ints("partitions", partitions).Msg("partitions assigned")

	for _, p := range partitions {
		c := claims[p]
		gen.Start(func(ctx context.Context) { handle(ctx, c) })
	}
}
