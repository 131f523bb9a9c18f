package processor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/publish"
)

// Defaults of a replay, which reads a backlog rather than a live stream:
// larger batches amortize each Pebble commit, and a larger cache keeps
// more sessions decoded across them.
const (
	// DefaultReplayBatchSize is the batch size of a replay whose Config
	// sets none.
	DefaultReplayBatchSize = 5000
	replayCacheEntries     = 50_000
	// replayMemTableSize is the memtable size of each store a replay
	// writes, in bytes. A replay rewrites each session many times in a
	// short while; a large memtable keeps most rewrites out of flushes
	// and compactions.
	replayMemTableSize = 32 << 20
)

// ReplaySummary describes a finished replay.
type ReplaySummary struct {
	// Records is the number of records read, Total the number that lay
	// between the start and the end offsets when the replay began.
	Records, Total int64
	Took           time.Duration
}

// nopPublisher replaces NATS in a replay, which publishes nothing.
type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, []publish.Message) error { return nil }

// Replay rebuilds the state of both stages from the log into cfg.DataDir,
// which should be empty, and returns once every partition has reached the
// end offsets it found at the start. It uses fresh consumer groups of its
// own, restores nothing from the changelogs and writes nothing but Pebble
// (see Config.Replay). progress, when not nil, is called after each batch
// with the records read so far and the total; it must not block.
func Replay(ctx context.Context, cfg Config, producer *ingest.Producer, progress func(done, total int64)) (ReplaySummary, error) {
	cfg.Replay = true
	run := time.Now().UnixNano()
	cfg.GroupID = fmt.Sprintf("gridsession-replay-%d-session", run)
	cfg.SpaceGroupID = fmt.Sprintf("gridsession-replay-%d-space", run)
	cfg.Queries = nil
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultReplayBatchSize
	}
	if cfg.CacheEntries == 0 {
		cfg.CacheEntries = replayCacheEntries
	}
	// A replay fills a fresh directory that nothing reads until it ends,
	// so its commits skip fsync. A replay cut short by a machine crash is
	// run again.
	cfg.NoSync = true

	read := append(cfg.Topics.Inputs(), cfg.Topics.SpaceUpdates())
	starts, err := ingest.StartOffsets(ctx, cfg.Brokers, read, cfg.StartTime)
	if err != nil {
		return ReplaySummary{}, err
	}
	ends, err := ingest.EndOffsets(ctx, cfg.Brokers, read)
	if err != nil {
		return ReplaySummary{}, err
	}
	tracker := newReplayTracker(starts, ends, progress)
	hooks := cfg.Hooks.OnBatch
	cfg.Hooks.OnBatch = func(s BatchStats) {
		tracker.batch(s)
		if hooks != nil {
			hooks(s)
		}
	}

	w, err := New(cfg, nopPublisher{}, producer)
	if err != nil {
		return ReplaySummary{}, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	started := time.Now()
	go func() { done <- w.Run(runCtx) }()

	var runErr error
	select {
	case <-tracker.done:
		stop()
		runErr = <-done
	case runErr = <-done:
	}
	summary := tracker.summary(time.Since(started))
	select {
	case <-tracker.done:
		return summary, runErr
	default:
	}
	if runErr == nil {
		runErr = errors.New("processor: replay stopped before it reached the end of the log")
	}
	return summary, runErr
}

// replayTracker follows the batches of a replay and closes done when every
// partition has reached the end offset taken at the start.
type replayTracker struct {
	mu       sync.Mutex
	end      map[string]map[int]int64
	applied  map[string]map[int]int64
	records  int64
	total    int64
	progress func(done, total int64)
	done     chan struct{}
	closed   bool
}

func newReplayTracker(start, end map[string]map[int]int64, progress func(done, total int64)) *replayTracker {
	r := &replayTracker{end: map[string]map[int]int64{}, applied: map[string]map[int]int64{}, progress: progress, done: make(chan struct{})}
	for topic, parts := range end {
		for p, last := range parts {
			if last > start[topic][p] {
				if r.end[topic] == nil {
					r.end[topic] = map[int]int64{}
				}
				r.end[topic][p] = last
				r.total += last - start[topic][p]
			}
		}
	}
	r.check()
	return r
}

func (r *replayTracker) batch(s BatchStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records += int64(s.Records)
	for topic, off := range s.Offsets {
		if r.applied[topic] == nil {
			r.applied[topic] = map[int]int64{}
		}
		r.applied[topic][s.Partition] = max(r.applied[topic][s.Partition], off)
	}
	if r.progress != nil {
		r.progress(r.records, r.total)
	}
	r.check()
}

// check closes done once every partition reached its end offset. The
// caller holds mu, or owns r alone.
func (r *replayTracker) check() {
	if r.closed {
		return
	}
	for topic, parts := range r.end {
		for p, end := range parts {
			applied, ok := r.applied[topic][p]
			if !ok || applied < end-1 {
				return
			}
		}
	}
	r.closed = true
	close(r.done)
}

func (r *replayTracker) summary(took time.Duration) ReplaySummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return ReplaySummary{Records: r.records, Total: r.total, Took: took}
}
