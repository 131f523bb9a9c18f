package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

// FirstOffset makes a PartitionReader start at the earliest retained record.
const FirstOffset = kafka.FirstOffset

// ReaderConfig configures a PartitionReader.
type ReaderConfig struct {
	Brokers []string
	// Partition is the partition number read from every topic.
	Partition int
	// Start maps each topic to the offset of the first record to read, or to
	// FirstOffset.
	Start map[string]int64
	// MaxWait bounds how long one fetch waits for new records on the
	// broker. Default 500ms. kafka-go also uses it as the deadline for the
	// first bytes of each fetch response, so a broker that takes longer to
	// respond, because it is busy or far away, makes every fetch fail. A
	// reader's Close waits for its fetch in flight, up to MaxWait.
	MaxWait time.Duration
	Log     zerolog.Logger
}

// PartitionReader reads one partition number of several co-partitioned
// topics and hands out their records in batches. Records of one topic keep
// their order; records of different topics interleave in arrival order.
type PartitionReader struct {
	readers []*kafka.Reader
	records chan Record
	errs    chan error
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
}

// NewPartitionReader starts one fetch loop per topic in cfg.Start. Close
// stops them.
func NewPartitionReader(cfg ReaderConfig) (*PartitionReader, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("ingest: no brokers configured")
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 500 * time.Millisecond
	}

	ctx, cancel := context.WithCancel(context.Background())
	r := &PartitionReader{records: make(chan Record, 1024), errs: make(chan error, 1), cancel: cancel}
	for topic, start := range cfg.Start {
		kr := kafka.NewReader(kafka.ReaderConfig{
			Brokers:        cfg.Brokers,
			Topic:          topic,
			Partition:      cfg.Partition,
			MinBytes:       1,
			MaxBytes:       16 << 20,
			MaxWait:        cfg.MaxWait,
			QueueCapacity:  1024,
			ReadBackoffMin: 50 * time.Millisecond,
			ReadBackoffMax: time.Second,
			ErrorLogger:    kafkaLogger(cfg.Log.With().Str("topic", topic).Logger()),
		})
		if err := kr.SetOffset(start); err != nil {
			r.Close()
			kr.Close()
			return nil, fmt.Errorf("ingest: set offset %d on %s/%d: %w", start, topic, cfg.Partition, err)
		}
		r.readers = append(r.readers, kr)
		r.wg.Add(1)
		go r.fetch(ctx, kr)
	}
	return r, nil
}

func (r *PartitionReader) fetch(ctx context.Context, kr *kafka.Reader) {
	defer r.wg.Done()
	backoff := 100 * time.Millisecond
	for {
		m, err := kr.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// kafka-go hands broker errors to FetchMessage but keeps its
			// own fetching alive, so the loop reports the error and goes
			// on. Returning would stop this topic for good.
			select {
			case r.errs <- fmt.Errorf("ingest: fetch %s/%d: %w", kr.Config().Topic, kr.Config().Partition, err):
			default:
			}
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		select {
		case r.records <- fromMessage(m):
		case <-ctx.Done():
			return
		}
	}
}

// Next blocks until at least one record is available or ctx ends, then
// gathers more for up to linger, returning at most max records. It returns
// ctx.Err() when ctx ends first, and a fetch error when a fetch failed. The
// fetch loops go on after an error, so the caller may call Next again.
func (r *PartitionReader) Next(ctx context.Context, max int, linger time.Duration) ([]Record, error) {
	var batch []Record
	select {
	case rec := <-r.records:
		batch = append(batch, rec)
	case err := <-r.errs:
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}

	timer := time.NewTimer(linger)
	defer timer.Stop()
	for len(batch) < max {
		select {
		case rec := <-r.records:
			batch = append(batch, rec)
		case <-timer.C:
			return batch, nil
		case <-ctx.Done():
			return batch, nil
		}
	}
	return batch, nil
}

// Behind reports whether records are known to be waiting: fetched but not
// handed out yet, or on the broker past what the readers fetched, as of
// their last fetch.
func (r *PartitionReader) Behind() bool {
	if len(r.records) > 0 {
		return true
	}
	for _, kr := range r.readers {
		if kr.Stats().Lag > 0 {
			return true
		}
	}
	return false
}

// Close stops the fetch loops and closes the connections. It is safe to call
// twice.
func (r *PartitionReader) Close() error {
	var errs []error
	r.once.Do(func() {
		r.cancel()
		r.wg.Wait()
		// Each kafka-go reader finishes its fetch in flight before it
		// closes, which takes up to MaxWait, so they close together.
		errs = make([]error, len(r.readers))
		var closing sync.WaitGroup
		for i, kr := range r.readers {
			closing.Go(func() { errs[i] = kr.Close() })
		}
		closing.Wait()
	})
	return errors.Join(errs...)
}

// kafkaLogger sends kafka-go's error lines to zerolog at warn level, at
// most 5 lines per 10 seconds. Read timeouts go to debug level: kafka-go
// retries them itself, and a busy broker causes them in bursts.
func kafkaLogger(log zerolog.Logger) kafka.LoggerFunc {
	l := log.Sample(&zerolog.BurstSampler{Burst: 5, Period: 10 * time.Second})
	return func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if strings.Contains(msg, "i/o timeout") {
			l.Debug().Msg(msg)
			return
		}
		l.Warn().Msg(msg)
	}
}

// backlogMaxWait is the fetch wait of a BacklogReader. A backlog reader
// rarely waits for new records, but kafka-go also uses the wait as the
// deadline for the first bytes of every fetch response. A busy broker that
// needs longer to build a response makes every fetch time out, and the
// reader then retries the same offset without end.
const backlogMaxWait = time.Second

// backlogMaxBytes bounds one fetch response of a BacklogReader, so that a
// broker builds each response quickly.
const backlogMaxBytes = 4 << 20

// NewBacklogReader returns a reader of one partition of topic from its
// first retained record, for reading a log that is already written, such
// as a changelog during a restore. The caller closes it.
func NewBacklogReader(brokers []string, topic string, partition int, log zerolog.Logger) (*kafka.Reader, error) {
	if len(brokers) == 0 {
		return nil, errors.New("ingest: no brokers configured")
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        brokers,
		Topic:          topic,
		Partition:      partition,
		MinBytes:       1,
		MaxBytes:       backlogMaxBytes,
		MaxWait:        backlogMaxWait,
		ReadBackoffMin: 50 * time.Millisecond,
		ReadBackoffMax: time.Second,
		ErrorLogger:    kafkaLogger(log.With().Str("topic", topic).Logger()),
	})
	if err := r.SetOffset(kafka.FirstOffset); err != nil {
		r.Close()
		return nil, fmt.Errorf("ingest: read %s/%d from the start: %w", topic, partition, err)
	}
	return r, nil
}
