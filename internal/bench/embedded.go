package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/embedded"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/publish"
)

// workerStopTimeout bounds the wait for the embedded worker to leave its
// consumer groups on Close.
const workerStopTimeout = 60 * time.Second

// EmbeddedOptions configures StartEmbedded. The zero value starts servers
// with the default topic and subject prefixes and DefaultPartitions
// partitions.
type EmbeddedOptions struct {
	Topics   ingest.Topics
	Subjects publish.Subjects
	// Partitions is the partition count of every topic; zero means
	// embedded.DefaultPartitions.
	Partitions int
	// OnWorkerError, when not nil, is called from the worker's goroutine
	// with the error that stopped the worker before Close.
	OnWorkerError func(error)
	Log           zerolog.Logger
}

// Embedded is a Kafka-protocol broker, a NATS server and a worker, all in
// this process and listening on random 127.0.0.1 ports. The broker and the
// worker keep their data in a temporary directory, as `gridsession dev`
// does. The worker runs with the defaults of `gridsession run`, including
// synced Pebble commits. It has no access key registry, so it serves no
// space gets, which a run does not make.
type Embedded struct {
	kafka    *embedded.Kafka
	nats     *embedded.NATS
	nc       *nats.Conn
	producer *ingest.Producer
	dataDir  string

	cancel context.CancelFunc
	done   chan error

	closeOnce sync.Once
	closeErr  error
}

// StartEmbedded starts the servers and the worker. The worker joins its
// consumer groups in the background; Run waits for it with probe events.
// The caller calls Close.
func StartEmbedded(opts EmbeddedOptions) (*Embedded, error) {
	e := &Embedded{}
	if err := e.start(opts); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Embedded) start(opts EmbeddedOptions) error {
	var err error
	e.dataDir, err = os.MkdirTemp("", "gridsession-bench-")
	if err != nil {
		return fmt.Errorf("bench: create worker data directory: %w", err)
	}
	e.kafka, err = embedded.StartKafka(embedded.KafkaOptions{
		Addr:       "127.0.0.1:0",
		DataDir:    filepath.Join(e.dataDir, "kafka"),
		Partitions: opts.Partitions,
		Topics:     opts.Topics.All(),
	})
	if err != nil {
		return err
	}
	e.nats, err = embedded.StartNATS(embedded.NATSOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	e.nc, err = publish.Connect(ctx, e.nats.ClientURL(), "gridsession-bench-worker", opts.Log)
	if err != nil {
		return err
	}
	e.producer = ingest.NewProducer([]string{e.kafka.Addr()}, opts.Log)

	contactKey := make([]byte, 32)
	if _, err := rand.Read(contactKey); err != nil {
		return fmt.Errorf("bench: contact key: %w", err)
	}
	w, err := processor.New(processor.Config{
		Brokers:    []string{e.kafka.Addr()},
		Topics:     opts.Topics,
		Subjects:   opts.Subjects,
		DataDir:    filepath.Join(e.dataDir, "worker"),
		Projection: projection.Config{ContactKey: contactKey},
		Log:        opts.Log,
	}, publish.New(e.nc), e.producer)
	if err != nil {
		return err
	}

	runCtx, stop := context.WithCancel(context.Background())
	e.cancel, e.done = stop, make(chan error, 1)
	go func() {
		err := w.Run(runCtx)
		if err != nil && runCtx.Err() == nil && opts.OnWorkerError != nil {
			opts.OnWorkerError(err)
		}
		e.done <- err
	}()
	return nil
}

// Brokers returns the address of the embedded broker.
func (e *Embedded) Brokers() []string { return []string{e.kafka.Addr()} }

// NATSURL returns the URL of the embedded NATS server.
func (e *Embedded) NATSURL() string { return e.nats.ClientURL() }

// Close stops the worker, waiting up to a minute for it to leave its
// consumer groups, then the servers, and removes the worker's data
// directory. It returns the worker's error, if any. Close is safe to call
// more than once.
func (e *Embedded) Close() error {
	e.closeOnce.Do(func() { e.closeErr = e.close() })
	return e.closeErr
}

func (e *Embedded) close() error {
	var errs []error
	if e.cancel != nil {
		e.cancel()
		select {
		case err := <-e.done:
			errs = append(errs, err)
		case <-time.After(workerStopTimeout):
			errs = append(errs, fmt.Errorf("bench: the embedded worker did not stop within %s", workerStopTimeout))
		}
	}
	if e.producer != nil {
		errs = append(errs, e.producer.Close())
	}
	if e.nc != nil {
		e.nc.Close()
	}
	if e.nats != nil {
		e.nats.Close()
	}
	if e.kafka != nil {
		e.kafka.Close()
	}
	if e.dataDir != "" {
		errs = append(errs, os.RemoveAll(e.dataDir))
	}
	return errors.Join(errs...)
}
