package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

// Batching of the Producer.
const (
	// produceBatchSize is the maximum number of messages in one produce
	// batch to one partition.
	produceBatchSize = 1000
	// produceBatchTimeout is how long a partition's batch waits for more
	// messages before it is sent.
	produceBatchTimeout = 5 * time.Millisecond
	// produceBatchBytes bounds one produce batch to one partition. It stays
	// below Kafka's default message.max.bytes of 1,048,588 bytes, which a
	// broker applies to a whole record batch, with room for the record
	// overhead that kafka-go does not count.
	produceBatchBytes = 1_000_000
	// soloMessageBytes is the size above which a message goes to Kafka in a
	// batch of its own, so that large messages never push a batch of small
	// ones over the broker's limit.
	soloMessageBytes = 512 << 10
	// MaxMessageBytes is the largest message the Producer sends. The broker
	// also applies its message.max.bytes, which is about 1 MiB unless
	// configured otherwise, so a message between that and MaxMessageBytes
	// is sent but rejected by a broker with default settings.
	MaxMessageBytes = 4 << 20
)

var (
	// ErrNoBrokers is returned by Send when the Producer was created
	// without broker addresses.
	ErrNoBrokers = errors.New("ingest: no brokers configured")
	// ErrProducerClosed is returned by Send after Close.
	ErrProducerClosed = errors.New("ingest: producer closed")
)

// SendError reports messages of one Send call that Kafka did not
// acknowledge.
type SendError struct {
	// Topics lists the topics of the Failed messages, sorted.
	Topics []string
	// Failed is the number of messages that Kafka may not have stored:
	// those that failed and those that Send did not send after the
	// failure. Some of them may still be written when ctx ended first.
	Failed int
	// Total is the number of messages in the Send call.
	Total int
	// Err is the first failure.
	Err error
}

func (e *SendError) Error() string {
	noun := "topic"
	if len(e.Topics) > 1 {
		noun = "topics"
	}
	return fmt.Sprintf("ingest: send to %s %s: %d of %d messages failed: %v",
		noun, strings.Join(e.Topics, ", "), e.Failed, e.Total, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// Producer writes messages to Kafka and waits for every in-sync replica to
// acknowledge them. It picks partitions with murmur2 on the key, as the
// Java client's default partitioner does, so records with the same key get
// the same partition number in every topic of equal partition count. A
// Producer is safe for concurrent use.
type Producer struct {
	noBrokers bool
	transport *kafka.Transport
	// batched sends messages up to soloMessageBytes in shared batches.
	batched *kafka.Writer
	// solo sends larger messages one per batch.
	solo *kafka.Writer
	// explicit sends messages to the partition they name, for changelogs
	// whose partition is the stage partition they record.
	explicit *kafka.Writer

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// NewProducer returns a Producer for the brokers. It connects on the first
// Send, so it does not fail when the brokers are unreachable. Topics must
// exist: the Producer does not create them. kafka-go's errors and retries
// are logged to log at warn level, at most 5 lines per 10 seconds.
func NewProducer(brokers []string, log zerolog.Logger) *Producer {
	transport := &kafka.Transport{ClientID: "gridsession-producer"}
	errLog := producerLogger(log)
	return &Producer{
		noBrokers: len(brokers) == 0,
		transport: transport,
		batched:   newWriter(brokers, transport, errLog, produceBatchSize, produceBatchBytes),
		solo:      newWriter(brokers, transport, errLog, 1, MaxMessageBytes),
		explicit:  explicitWriter(brokers, transport, errLog),
	}
}

// explicitWriter is a writer that keeps the partition each message names.
func explicitWriter(brokers []string, transport *kafka.Transport, errLog kafka.Logger) *kafka.Writer {
	w := newWriter(brokers, transport, errLog, produceBatchSize, produceBatchBytes)
	w.Balancer = kafka.BalancerFunc(func(m kafka.Message, _ ...int) int { return m.Partition })
	return w
}

// SendToPartitions writes messages to the partitions their Partition fields
// name, in order, and waits for Kafka to acknowledge them all.
func (p *Producer) SendToPartitions(ctx context.Context, msgs ...kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if p.closed.Load() {
		return ErrProducerClosed
	}
	if p.noBrokers {
		return ErrNoBrokers
	}
	if err := p.explicit.WriteMessages(ctx, msgs...); err != nil {
		return newSendError(msgs, 0, len(msgs), err)
	}
	return nil
}

func newWriter(brokers []string, transport *kafka.Transport, errLog kafka.Logger, batchSize int, batchBytes int64) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchSize:    batchSize,
		BatchBytes:   batchBytes,
		BatchTimeout: produceBatchTimeout,
		Transport:    transport,
		ErrorLogger:  errLog,
	}
}

// producerLogger passes kafka-go's error lines to log at warn level, at most
// 5 lines per 10 seconds, because a broker outage repeats them for every
// retry.
func producerLogger(log zerolog.Logger) kafka.LoggerFunc {
	l := log.With().Str("component", "producer").Logger().
		Sample(&zerolog.BurstSampler{Burst: 5, Period: 10 * time.Second})
	return func(format string, args ...any) {
		l.Warn().Msgf(format, args...)
	}
}

// Send writes msgs, each with its Topic set, and returns once Kafka has
// acknowledged all of them, or with a *SendError naming the topics of the
// failed messages. Messages of one Send call with the same topic and
// partition keep their order. A message with a nil Key goes to a random partition. The Producer
// keeps no reference to msgs after Send returns, except when ctx ends
// first: then the messages may still be written, and the caller must not
// modify their bytes.
func (p *Producer) Send(ctx context.Context, msgs ...kafka.Message) error {
	if p.closed.Load() {
		return ErrProducerClosed
	}
	if len(msgs) == 0 {
		return nil
	}
	if p.noBrokers {
		return ErrNoBrokers
	}

	// A large message ends the run of small messages before it and goes
	// alone, and the next run starts after it, which keeps the order.
	start := 0
	for i := range msgs {
		if messageBytes(msgs[i]) <= soloMessageBytes {
			continue
		}
		if err := p.write(ctx, p.batched, msgs, start, i); err != nil {
			return err
		}
		if err := p.write(ctx, p.solo, msgs, i, i+1); err != nil {
			return err
		}
		start = i + 1
	}
	return p.write(ctx, p.batched, msgs, start, len(msgs))
}

// messageBytes is the size of a message's key, value and headers.
func messageBytes(m kafka.Message) int {
	n := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// write sends msgs[from:to]. When that fails, the error also counts
// msgs[to:], which Send then does not send.
func (p *Producer) write(ctx context.Context, w *kafka.Writer, msgs []kafka.Message, from, to int) error {
	if from == to {
		return nil
	}
	err := w.WriteMessages(ctx, msgs[from:to]...)
	if err == nil {
		return nil
	}
	// A Send that raced with Close finds the writer closed.
	if errors.Is(err, io.ErrClosedPipe) && p.closed.Load() {
		return ErrProducerClosed
	}
	return newSendError(msgs, from, to, err)
}

// newSendError reports the failure err of sending msgs[from:to]. With
// kafka.WriteErrors it counts the messages of the run that failed, and with
// any other error all of them. It also counts every message after the run,
// because Send stops there.
func newSendError(msgs []kafka.Message, from, to int, err error) *SendError {
	e := &SendError{Total: len(msgs), Err: err}
	var topics []string

	var writeErrs kafka.WriteErrors
	if errors.As(err, &writeErrs) && len(writeErrs) == to-from {
		e.Err = nil
		for i, msgErr := range writeErrs {
			if msgErr == nil {
				continue
			}
			e.Failed++
			topics = append(topics, msgs[from+i].Topic)
			if e.Err == nil {
				e.Err = msgErr
			}
		}
		if e.Err == nil {
			e.Err = err
		}
	} else {
		e.Failed = to - from
		for _, m := range msgs[from:to] {
			topics = append(topics, m.Topic)
		}
	}

	e.Failed += len(msgs) - to
	for _, m := range msgs[to:] {
		topics = append(topics, m.Topic)
	}
	slices.Sort(topics)
	e.Topics = slices.Compact(topics)
	return e
}

// Close waits for the messages of running Send calls, then closes the
// connections. Send fails with ErrProducerClosed afterwards. Close is safe
// to call more than once.
func (p *Producer) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		p.closeErr = errors.Join(p.batched.Close(), p.solo.Close(), p.explicit.Close())
		p.transport.CloseIdleConnections()
	})
	return p.closeErr
}
