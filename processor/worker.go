package processor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/statestore"
)

// Publisher sends messages to NATS. Publish returns only once the server
// has them, or with an error, in which case the caller sends them again.
type Publisher interface {
	Publish(ctx context.Context, msgs []publish.Message) error
}

// Worker is one member of the session stage's consumer group.
type Worker struct {
	cfg       Config
	publisher Publisher
	producer  *ingest.Producer
	cache     *statestore.Cache
	rejectLog zerolog.Logger

	// partitions is the partition count of the input topics; partitionList
	// is 0 to partitions-1, for the murmur2 balancer.
	partitions    int
	partitionList []int
	balancer      kafka.Murmur2Balancer

	mu      sync.Mutex
	running bool

	// skipKafkaCommit is set by tests to act as if every batch crashed
	// between the Pebble commit and the Kafka commit.
	skipKafkaCommit bool
}

// cacheBytes is the Pebble block cache shared by all partitions of a worker.
const cacheBytes = 64 << 20

// New checks cfg and returns a Worker that publishes through publisher and
// writes dead letters through producer. The caller owns both and closes them
// after Run returns.
func New(cfg Config, publisher Publisher, producer *ingest.Producer) (*Worker, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if publisher == nil || producer == nil {
		return nil, errors.New("processor: publisher and producer are required")
	}
	return &Worker{
		cfg:       cfg,
		publisher: publisher,
		producer:  producer,
		rejectLog: cfg.Log.Sample(&zerolog.BurstSampler{Burst: 10, Period: 10 * time.Second}),
	}, nil
}

// Run joins the consumer group and processes owned partitions until ctx
// ends or a partition fails to read or write its store. A second call while
// running is rejected.
func (w *Worker) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.running {
		w.mu.Unlock()
		return errors.New("processor: worker is already running")
	}
	w.running = true
	w.mu.Unlock()

	n, err := ingest.PartitionCount(ctx, w.cfg.Brokers, w.cfg.Topics.Inputs())
	if err != nil {
		return err
	}
	w.partitions = n
	w.partitionList = make([]int, n)
	for i := range w.partitionList {
		w.partitionList[i] = i
	}

	w.cache = statestore.NewCache(cacheBytes)
	defer w.cache.Unref()

	group, err := ingest.NewGroup(ingest.GroupConfig{
		ID:      w.cfg.GroupID,
		Brokers: w.cfg.Brokers,
		Topics:  w.cfg.Topics.Inputs(),
		Log:     w.cfg.Log,
	})
	if err != nil {
		return err
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w.cfg.Log.Info().Strs("brokers", w.cfg.Brokers).Str("group", w.cfg.GroupID).Int("partitions", n).Msg("session stage started")

	err = group.Run(runCtx, func(genCtx context.Context, claim *ingest.Claim) {
		if err := w.runClaim(genCtx, claim); err != nil {
			cancel(err)
		}
	})
	if cause := context.Cause(runCtx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	w.cfg.Log.Info().Msg("session stage stopped")
	return err
}

func (w *Worker) runClaim(ctx context.Context, claim *ingest.Claim) error {
	p := &partition{
		w:     w,
		num:   claim.Partition,
		claim: claim,
		log:   w.cfg.Log.With().Int("partition", claim.Partition).Int("generation", claim.Generation).Logger(),
	}
	w.cfg.Hooks.assigned(claim.Partition, claim.Generation)
	defer w.cfg.Hooks.revoked(claim.Partition, claim.Generation)

	if err := p.run(ctx); err != nil {
		p.log.Error().Err(err).Msg("partition failed, stopping the worker")
		return fmt.Errorf("partition %d: %w", claim.Partition, err)
	}
	p.log.Info().Msg("partition released")
	return nil
}
