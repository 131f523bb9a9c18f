package processor

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/statestore"
)

// finishTimeout bounds how long a batch that was read before shutdown may
// take to publish and commit.
const finishTimeout = 15 * time.Second

// maxDueTimers is the most timers one batch handles; more wait for the next.
const maxDueTimers = 1000

// maxSweepDelay bounds how long a backlog may put off looking for expired
// values.
const maxSweepDelay = 10 * time.Second

// partition is the loop of one owned partition number of one stage for one
// generation.
type partition struct {
	w     *Worker
	stage stage
	num   int
	claim *ingest.Claim
	store *statestore.Store
	log   zerolog.Logger
	// applied maps each topic to the last offset committed to Pebble.
	applied map[string]int64
	// cache keeps decoded state between batches; its entries are the
	// stage's own.
	cache *lru
	// nextSweep is when the loop next looks for due timers, in real time:
	// the injected clock may stand still.
	nextSweep time.Time
	// reader feeds the loop; deferredSince is when a sweep was first put
	// off because the reader had records waiting.
	reader        *ingest.PartitionReader
	deferredSince time.Time
	// moreDue is set when the last sweep left due timers for the next.
	moreDue bool
	// kafkaApplied maps each topic to the last applied offset that the
	// group's committed offsets in Kafka reflect. Where it trails applied,
	// the loop commits again. retryCommit is the earliest time of the next
	// attempt, and unsyncedSince is when Kafka first fell behind.
	kafkaApplied  map[string]int64
	retryCommit   time.Time
	unsyncedSince time.Time
}

// commitRetryDelay is how long the loop waits before committing offsets to
// Kafka again after a failure.
const commitRetryDelay = time.Second

// commitWarnAfter is how long Kafka may trail Pebble before the loop warns.
const commitWarnAfter = 30 * time.Second

// StoreDir returns the directory of the Pebble store of one partition of the
// session stage.
func StoreDir(dataDir string, partition int) string {
	return stageDir(dataDir, "session", partition)
}

// SpaceStoreDir returns the directory of the Pebble store of one partition
// of the space stage.
func SpaceStoreDir(dataDir string, partition int) string {
	return stageDir(dataDir, "space", partition)
}

func stageDir(dataDir, stage string, partition int) string {
	return filepath.Join(dataDir, stage, fmt.Sprintf("p%04d", partition))
}

// run processes the claim until ctx ends or a store error occurs.
func (p *partition) run(ctx context.Context) error {
	dir := stageDir(p.w.cfg.DataDir, p.stage.name(), p.num)
	opts := statestore.Options{Cache: p.w.cache, NoSync: p.w.cfg.NoSync}
	if p.w.cfg.Replay {
		// A replay that fails is run again into a fresh directory, so its
		// stores keep no write-ahead log; finishReplay flushes them.
		opts.MemTableSize = replayMemTableSize
		opts.DisableWAL = true
	}
	store, err := statestore.Open(dir, opts)
	if err != nil {
		return fmt.Errorf("processor: open store of %s partition %d: %w", p.stage.name(), p.num, err)
	}
	p.store = store
	p.cache = newLRU(p.w.cfg.CacheEntries)
	defer store.Close()

	if p.applied, err = store.Offsets(); err != nil {
		return fmt.Errorf("processor: read offsets of %s partition %d: %w", p.stage.name(), p.num, err)
	}

	if len(p.applied) == 0 && !p.w.cfg.Replay {
		// No local state: restore it from the changelog, then continue
		// after the offsets it reflects. With local state the worker
		// resumes directly.
		restored, err := p.restore(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if restored != nil {
			p.applied = restored
		}
	}

	p.w.cfg.Hooks.resumed(p.stage.name(), p.num, p.applied)

	queries, err := p.serveQueries()
	if err != nil {
		return err
	}
	defer queries.Stop() // before the store closes

	start := map[string]int64{}
	for _, topic := range p.stage.inputs() {
		start[topic] = ingest.FirstOffset
		if off, ok := p.applied[topic]; ok {
			start[topic] = off + 1
			continue
		}
		if !p.w.cfg.StartTime.IsZero() {
			off, err := ingest.OffsetAt(ctx, p.w.cfg.Brokers, topic, p.num, p.w.cfg.StartTime)
			if err != nil {
				return err
			}
			start[topic] = off
		}
	}
	p.log.Info().Interface("start_offsets", start).Msg("partition started")
	// After a crash or a restore Kafka may hold older offsets than Pebble;
	// committing Pebble's keeps the group's lag true before new records
	// arrive.
	p.kafkaApplied = map[string]int64{}
	p.commitKafka()

	reader, err := ingest.NewPartitionReader(ingest.ReaderConfig{
		Brokers:   p.w.cfg.Brokers,
		Partition: p.num,
		Start:     start,
		Log:       p.log,
	})
	if err != nil {
		return err
	}
	defer reader.Close()
	p.reader = reader

	for ctx.Err() == nil {
		waitCtx, cancel := context.WithDeadline(ctx, p.nextSweep)
		records, err := reader.Next(waitCtx, p.w.cfg.BatchSize, p.w.cfg.BatchLinger)
		cancel()
		switch {
		case ctx.Err() != nil:
		case errors.Is(err, context.DeadlineExceeded):
		case err != nil:
			p.log.Warn().Err(err).Msg("fetch failed, retrying")
			if !sleep(ctx, time.Second) {
				return nil
			}
			continue
		}
		if err := p.process(ctx, records); err != nil {
			return err
		}
		p.commitKafka()
	}
	if p.w.cfg.Replay {
		return p.finishReplay(ctx)
	}
	return nil
}

// finishReplay expires every value due at the worker's clock, then writes
// the store's memtables to table files. A replay puts sweeps off while it
// reads its backlog and usually ends before one runs, so without the final
// sweep the values it leaves would depend on its timing.
func (p *partition) finishReplay(ctx context.Context) error {
	p.reader = nil // the backlog is read: sweep now
	for {
		p.nextSweep = time.Time{}
		if err := p.process(ctx, nil); err != nil {
			return err
		}
		if !p.moreDue {
			return p.store.Flush()
		}
	}
}

// commitKafka commits the applied offsets to Kafka for the topics where the
// group's committed offsets trail Pebble's. After a failure it tries again
// on a later pass of the loop, at most once per commitRetryDelay. Workers
// take their start offsets from Pebble or the changelog, never from Kafka,
// so a missed commit only makes the group's lag read too high. Without the
// retry it would stay high until a new record arrived.
func (p *partition) commitKafka() {
	if p.w.skipKafkaCommit || p.w.cfg.Replay {
		return
	}
	behind := map[string]int64{}
	for topic, off := range p.applied {
		if done, ok := p.kafkaApplied[topic]; !ok || done < off {
			behind[topic] = off
		}
	}
	if len(behind) == 0 {
		p.unsyncedSince = time.Time{}
		return
	}

	now := time.Now()
	if now.Before(p.retryCommit) {
		return
	}
	var err error
	if p.w.commitFault != nil {
		err = p.w.commitFault()
	}
	if err == nil {
		err = p.claim.Commit(behind)
	}
	if err == nil {
		for topic, off := range behind {
			p.kafkaApplied[topic] = off
		}
		p.unsyncedSince, p.retryCommit = time.Time{}, time.Time{}
		return
	}

	p.retryCommit = now.Add(commitRetryDelay)
	if p.unsyncedSince.IsZero() {
		p.unsyncedSince = now
	}
	if now.Sub(p.unsyncedSince) < commitWarnAfter {
		p.log.Debug().Err(err).Msg("kafka offset commit failed, retrying")
		return
	}
	p.unsyncedSince = now // the next warning comes commitWarnAfter later
	p.log.Warn().Err(err).Interface("offsets", behind).Dur("failing_for", commitWarnAfter).
		Msg("kafka offset commits keep failing; the group's lag reads too high until one succeeds")
}

// dueTimers returns the timers due at now, by the worker's clock, once the
// sweep interval has passed in real time, and moves the next sweep on.
//
// While the partition works through a backlog, sweeps wait, for at most
// maxSweepDelay: the wall clock runs ahead of the backlog's event times, so
// a sweep between two batches could expire a cart that a record still
// waiting in the backlog extends.
func (p *partition) dueTimers(now time.Time) ([]statestore.Timer, error) {
	real := time.Now()
	if real.Before(p.nextSweep) {
		return nil, nil
	}
	p.nextSweep = real.Add(p.w.cfg.SweepInterval)
	if p.reader != nil && p.reader.Behind() {
		if p.deferredSince.IsZero() {
			p.deferredSince = real
		}
		if real.Sub(p.deferredSince) < maxSweepDelay {
			return nil, nil
		}
	}
	p.deferredSince = time.Time{}
	timers, err := p.store.DueTimers(now.UnixMilli(), maxDueTimers)
	if err != nil {
		return nil, fmt.Errorf("processor: read timers of %s partition %d: %w", p.stage.name(), p.num, err)
	}
	p.moreDue = len(timers) == maxDueTimers
	if p.moreDue {
		p.nextSweep = real // look again after this batch
	}
	return timers, nil
}

// process folds, sends and commits one batch of records and the timers due
// now. A batch that was read is finished even when ctx ends meanwhile,
// within finishTimeout, so a graceful shutdown commits what it started.
func (p *partition) process(ctx context.Context, records []ingest.Record) error {
	started := time.Now()
	now := p.w.now()
	timers, err := p.dueTimers(now)
	if err != nil {
		return err
	}
	if len(records) == 0 && len(timers) == 0 {
		return nil
	}

	b := p.stage.newBatch(p)
	p.orderByTopic(records)
	for _, rec := range records {
		if err := b.fold(rec); err != nil {
			return err
		}
	}
	if err := b.expire(timers, now.UnixMilli()); err != nil {
		return err
	}
	out := b.output()
	if len(out.stats.Offsets) == 0 && len(timers) == 0 {
		return nil // every record was at or below the stored offsets
	}
	ch, err := b.encode()
	if err != nil {
		return err
	}
	if !p.w.cfg.Replay {
		out.changelog = p.changelogMessages(ch, out.stats.Offsets)
	}

	finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	if ctx.Err() == nil {
		finishCtx = ctx
	}
	if !p.send(finishCtx, out) {
		// Nothing was committed and ctx has ended, so the loop stops and
		// the next owner reads the batch again.
		return nil
	}

	sb := p.store.NewBatch()
	defer sb.Close()
	ch.apply(sb)
	for topic, off := range out.stats.Offsets {
		sb.SetOffset(topic, off)
	}
	if err := sb.Commit(); err != nil {
		return fmt.Errorf("processor: commit %s partition %d: %w", p.stage.name(), p.num, err)
	}
	for topic, off := range out.stats.Offsets {
		p.applied[topic] = off
	}
	b.committed()

	out.stats.Published = len(out.messages)
	out.stats.Duration = time.Since(started)
	p.w.cfg.Hooks.batch(out.stats)

	return nil
}

// orderByTopic sorts records into the order of the stage's inputs, keeping
// the order within each topic. For the session stage this folds the
// session records of a batch before its events, so events read together
// with their session record already know their space. Records of
// different topics have no order in Kafka, so this changes no result.
func (p *partition) orderByTopic(records []ingest.Record) {
	inputs := p.stage.inputs()
	rank := func(topic string) int { return slices.Index(inputs, topic) }
	slices.SortStableFunc(records, func(a, b ingest.Record) int { return rank(a.Topic) - rank(b.Topic) })
}

// send writes dead letters and other records to Kafka, then publishes to
// NATS, retrying each until it succeeds. It returns false when ctx ended
// first.
func (p *partition) send(ctx context.Context, out batchOutput) bool {
	if p.w.cfg.Replay {
		for _, r := range out.rejections {
			p.w.cfg.Hooks.rejected(r)
		}
		return true
	}
	records := out.records
	for _, r := range out.rejections {
		p.logRejection(r)
		p.w.cfg.Hooks.rejected(r)
		records = append(records, p.w.cfg.Topics.DeadLetter(r))
	}

	if len(records) > 0 {
		err := retry(ctx, p.log, "write to Kafka", func() error {
			return p.w.producer.Send(ctx, records...)
		})
		if err != nil {
			return false
		}
	}
	if len(out.changelog) > 0 {
		err := retry(ctx, p.log, "write the changelog", func() error {
			return p.w.producer.SendToPartitions(ctx, out.changelog...)
		})
		if err != nil {
			return false
		}
	}
	err := retry(ctx, p.log, "publish to NATS", func() error {
		err := p.w.publisher.Publish(ctx, out.messages)
		if errors.Is(err, publish.ErrUndeliverable) {
			// The other messages were delivered, and no retry can deliver
			// these: state in Pebble stays right, subscribers miss them.
			p.w.rejectLog.Error().Err(err).Msg("messages skipped that NATS cannot deliver")
			p.w.cfg.Hooks.publishError(p.num, err)
			return nil
		}
		if err != nil {
			p.w.cfg.Hooks.publishError(p.num, err)
		}
		return err
	})
	return err == nil
}

func (p *partition) logRejection(r ingest.Rejection) {
	p.w.rejectLog.Warn().
		Str("topic", r.Record.Topic).
		Int("partition", r.Record.Partition).
		Int64("offset", r.Record.Offset).
		Str("reason", r.Reason).
		Str("field", r.Field).
		Err(r.Err).
		Msg("record rejected to the dead-letter topic")
}

// retry calls fn until it succeeds or ctx ends, backing off from 100ms to
// 5s. It returns ctx's error when it gives up.
func retry(ctx context.Context, log zerolog.Logger, what string, fn func() error) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn().Err(err).Int("attempt", attempt).Msg(what + " failed, retrying")
		if !sleep(ctx, backoff) {
			return errors.Join(err, ctx.Err())
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// sleep waits for d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
