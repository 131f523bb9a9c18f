package processor

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/statestore"
)

// finishTimeout bounds how long a batch that was read before shutdown may
// take to publish and commit.
const finishTimeout = 15 * time.Second

// partition is the loop of one owned partition number for one generation.
type partition struct {
	w     *Worker
	num   int
	claim *ingest.Claim
	store *statestore.Store
	log   zerolog.Logger
	// applied maps each topic to the last offset committed to Pebble.
	applied map[string]int64
	cache   *sessionCache
}

// StoreDir returns the directory of the Pebble store of one session-stage
// partition.
func StoreDir(dataDir string, partition int) string {
	return filepath.Join(dataDir, "session", fmt.Sprintf("p%04d", partition))
}

// run processes the claim until ctx ends or a store error occurs.
func (p *partition) run(ctx context.Context) error {
	store, err := statestore.Open(StoreDir(p.w.cfg.DataDir, p.num), statestore.Options{Cache: p.w.cache, NoSync: p.w.cfg.NoSync})
	if err != nil {
		return fmt.Errorf("processor: open store of partition %d: %w", p.num, err)
	}
	p.store = store
	p.cache = newSessionCache(defaultCacheSessions)
	defer store.Close()

	if p.applied, err = store.Offsets(); err != nil {
		return fmt.Errorf("processor: read offsets of partition %d: %w", p.num, err)
	}

	start := map[string]int64{}
	for _, topic := range p.w.cfg.Topics.Inputs() {
		start[topic] = ingest.FirstOffset
		if off, ok := p.applied[topic]; ok {
			start[topic] = off + 1
		}
		// TODO: restore from the changelog when there is no local state
		// instead of folding the whole retained log again.
	}
	p.log.Info().Interface("start_offsets", start).Msg("partition started")

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

	for ctx.Err() == nil {
		batch, err := reader.Next(ctx, p.w.cfg.BatchSize, p.w.cfg.BatchLinger)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			p.log.Warn().Err(err).Msg("fetch failed, retrying")
			if !sleep(ctx, time.Second) {
				break
			}
			continue
		}
		if err := p.process(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

// process folds, publishes and commits one batch. A batch that was read is
// finished even when ctx ends meanwhile, within finishTimeout, so a graceful
// shutdown commits what it started.
func (p *partition) process(ctx context.Context, batch []ingest.Record) error {
	started := time.Now()
	f := newFolder(p)
	for _, rec := range batch {
		if err := f.fold(rec); err != nil {
			return err
		}
	}
	if len(f.applied) == 0 {
		return nil
	}

	finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	if ctx.Err() == nil {
		finishCtx = ctx
	}

	for _, r := range f.rejections {
		p.logRejection(r)
		p.w.cfg.Hooks.rejected(r)
	}
	if err := retry(finishCtx, p.log, "write dead letters", func() error {
		return p.w.producer.SendDeadLetters(finishCtx, p.w.cfg.Topics, f.rejections)
	}); err != nil {
		return nil // not committed: the batch is read again by the next owner
	}
	if err := retry(finishCtx, p.log, "publish to NATS", func() error {
		err := p.w.publisher.Publish(finishCtx, f.messages)
		if err != nil {
			p.w.cfg.Hooks.publishError(p.num, err)
		}
		return err
	}); err != nil {
		return nil
	}

	b := p.store.NewBatch()
	defer b.Close()
	if err := f.write(b); err != nil {
		return err
	}
	if err := b.Commit(); err != nil {
		return fmt.Errorf("processor: commit partition %d: %w", p.num, err)
	}
	for topic, off := range f.applied {
		p.applied[topic] = off
	}
	for k, s := range f.sessions {
		p.cache.put(k, s)
	}

	f.stats.Published = len(f.messages)
	f.stats.Offsets = f.applied
	f.stats.Duration = time.Since(started)
	p.w.cfg.Hooks.batch(f.stats)

	if p.w.skipKafkaCommit {
		return nil
	}
	if err := p.claim.Commit(f.applied); err != nil {
		// Pebble holds the applied offsets, so a failed Kafka commit only
		// means the next owner skips a few records it reads again.
		p.log.Debug().Err(err).Msg("kafka offset commit failed")
	}
	return nil
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
