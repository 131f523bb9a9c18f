package client_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/access"
	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/embedded"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/publish"
)

// The servers that TestMain starts for the tests, examples and benchmarks
// of this package: an embedded Kafka-protocol broker, an embedded NATS
// server and one worker that answers gets, all on 127.0.0.1.
var (
	brokers []string
	natsURL string
	// username and password are an access key of tenant "shop" for every
	// space.
	username, password string
)

// testPartitions is the partition count of every topic.
const testPartitions = 4

// workerNow is the worker's clock. It does not advance, so that the expiry
// instants in the examples' output do not change: events at
// 2026-01-02T10:00:00Z keep their carts until 10:30 and their ratings for
// a day.
var workerNow = time.Date(2026, 1, 2, 10, 5, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	stop, err := startServers()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start test servers:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// startServers starts the servers and a worker and returns a function that
// stops them.
func startServers() (stop func(), err error) {
	var cleanups []func()
	stop = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	log := zerolog.Nop()
	if os.Getenv("GRIDSESSION_TEST_LOG") != "" {
		log = zerolog.New(os.Stderr).Level(zerolog.InfoLevel)
	}

	topics := ingest.Topics{}
	k, err := embedded.StartKafka(embedded.KafkaOptions{Addr: "127.0.0.1:0", Partitions: testPartitions})
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, k.Close)
	for _, topic := range topics.All() {
		var configs map[string]string
		if topics.Compacted(topic) {
			configs = map[string]string{"cleanup.policy": "compact"}
		}
		if err := k.EnsureTopic(topic, testPartitions, configs); err != nil {
			return nil, err
		}
	}
	n, err := embedded.StartNATS(embedded.NATSOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, n.Close)
	brokers, natsURL = []string{k.Addr()}, n.ClientURL()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	username, password, err = access.Create(ctx, brokers, topics, "shop", nil)
	if err != nil {
		return nil, err
	}
	stopWorker, err := startWorker(topics, log)
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, stopWorker)
	return stop, nil
}

// startWorker runs a worker that serves gets and checks access keys, and
// returns a function that stops it.
func startWorker(topics ingest.Topics, log zerolog.Logger) (func(), error) {
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return nil, err
	}
	producer := ingest.NewProducer(brokers, log)
	runCtx, cancel := context.WithCancel(context.Background())
	keys := access.NewRegistry(brokers, topics, log)
	if err := keys.Start(runCtx); err != nil {
		cancel()
		return nil, err
	}

	dataDir, err := os.MkdirTemp("", "gridsession-client-test-")
	if err != nil {
		cancel()
		return nil, err
	}
	w, err := processor.New(processor.Config{
		Brokers:    brokers,
		Topics:     topics,
		DataDir:    dataDir,
		Projection: projection.Config{ContactKey: []byte("client-test-contact-key")},
		Clock:      func() time.Time { return workerNow },
		Queries:    nc,
		Access:     keys,
		Log:        log,
	}, publish.New(nc), producer)
	if err != nil {
		cancel()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()

	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				fmt.Fprintln(os.Stderr, "worker:", err)
			}
		case <-time.After(time.Minute):
			fmt.Fprintln(os.Stderr, "worker did not stop within a minute")
		}
		keys.Close()
		producer.Close()
		nc.Close()
		os.RemoveAll(dataDir)
	}, nil
}
