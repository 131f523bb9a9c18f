package processor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/statestore"
)

// Publisher sends messages to NATS. Publish returns only once the server
// has them, or with an error, in which case the caller sends them again.
type Publisher interface {
	Publish(ctx context.Context, msgs []publish.Message) error
}

// Worker runs both stages of the pipeline in one process: a member of the
// session stage's consumer group and a member of the space stage's.
type Worker struct {
	cfg       Config
	publisher Publisher
	producer  *ingest.Producer
	cache     *statestore.Cache
	rejectLog zerolog.Logger

	// partitions is the partition count of the session stage's input
	// topics; partitionList is 0 to partitions-1, for the murmur2 balancer.
	partitions    int
	partitionList []int
	// spacePartitionList is 0 to the partition count of the space-updates
	// topic minus one.
	spacePartitionList []int
	balancer           kafka.Murmur2Balancer

	mu      sync.Mutex
	running bool

	// skipKafkaCommit is set by tests to act as if every batch crashed
	// between the Pebble commit and the Kafka commit.
	skipKafkaCommit bool
	// commitFault, when set by tests, is called before each Kafka offset
	// commit; an error it returns fails that commit.
	commitFault func() error
}

// cacheBytes is the Pebble block cache shared by all partitions of a worker.
const cacheBytes = 64 << 20

// New checks cfg and returns a Worker that publishes through publisher and
// writes dead letters and contributions through producer. The caller owns
// both and closes them after Run returns.
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

func (w *Worker) now() time.Time { return w.cfg.Clock() }

// Run joins both consumer groups and processes owned partitions until ctx
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
		return fmt.Errorf("%w (create the topics %v first, or start with --create-topics)", err, w.cfg.Topics.All())
	}
	counts := map[string]int{}
	for _, topic := range []string{w.cfg.Topics.SpaceUpdates(), w.cfg.Topics.DLQ()} {
		c, err := ingest.PartitionCount(ctx, w.cfg.Brokers, []string{topic})
		if err != nil {
			return fmt.Errorf("%w (create the topics %v first, or start with --create-topics)", err, w.cfg.Topics.All())
		}
		counts[topic] = c
	}
	for i := range counts[w.cfg.Topics.SpaceUpdates()] {
		w.spacePartitionList = append(w.spacePartitionList, i)
	}
	w.partitions = n
	w.partitionList = make([]int, n)
	for i := range w.partitionList {
		w.partitionList[i] = i
	}

	w.cache = statestore.NewCache(cacheBytes)
	defer w.cache.Unref()

	auth, err := w.serveAuth()
	if err != nil {
		return err
	}
	defer auth.Stop()

	w.cfg.Log.Info().Strs("brokers", w.cfg.Brokers).Str("group", w.cfg.GroupID).Str("space_group", w.cfg.SpaceGroupID).Int("partitions", n).Msg("worker started")
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.runStage(gctx, sessionStage{w}, w.cfg.GroupID) })
	g.Go(func() error { return w.runStage(gctx, spaceStage{w}, w.cfg.SpaceGroupID) })
	err = g.Wait()
	w.cfg.Log.Info().Msg("worker stopped")
	return err
}

// runStage runs one stage's consumer group until ctx ends or a partition
// fails.
func (w *Worker) runStage(ctx context.Context, st stage, groupID string) error {
	group, err := ingest.NewGroup(ingest.GroupConfig{
		ID:      groupID,
		Brokers: w.cfg.Brokers,
		Topics:  st.inputs(),
		Log:     w.cfg.Log.With().Str("stage", st.name()).Logger(),
	})
	if err != nil {
		return err
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	err = group.Run(runCtx, func(genCtx context.Context, claim *ingest.Claim) {
		if err := w.runClaim(genCtx, st, claim); err != nil {
			cancel(err)
		}
	})
	if cause := context.Cause(runCtx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

func (w *Worker) runClaim(ctx context.Context, st stage, claim *ingest.Claim) error {
	p := &partition{
		w:     w,
		stage: st,
		num:   claim.Partition,
		claim: claim,
		log:   w.cfg.Log.With().Str("stage", st.name()).Int("partition", claim.Partition).Int("generation", claim.Generation).Logger(),
	}
	w.cfg.Hooks.assigned(st.name(), claim.Partition, claim.Generation)
	defer w.cfg.Hooks.revoked(st.name(), claim.Partition, claim.Generation)

	if err := p.run(ctx); err != nil {
		p.log.Error().Err(err).Msg("partition failed, stopping the worker")
		return fmt.Errorf("%s partition %d: %w", st.name(), claim.Partition, err)
	}
	p.log.Info().Msg("partition released")
	return nil
}
