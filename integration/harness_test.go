package integration

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/statestore"
)

const partitions = 4

// cluster is a Kafka broker and a NATS server with one worker that can be
// stopped and started again on the same data directory. The servers run on
// the backend that TestMain selected: the embedded ones, or containers.
type cluster struct {
	t       *testing.T
	kafka   kafkaServer
	nats    natsServer
	nc      *nats.Conn
	topics  ingest.Topics
	dataDir string

	producer *ingest.Producer
	cancel   context.CancelFunc
	done     chan error

	// clock is the workers' clock; the default is set before the sample
	// files' first row, so nothing in them expires.
	clock func() time.Time
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{
		t:       t,
		topics:  ingest.Topics{Prefix: "it"},
		dataDir: t.TempDir(),
		clock:   func() time.Time { return time.Date(2019, 9, 30, 0, 0, 0, 0, time.UTC) },
	}
	c.kafka, c.nats = startServers(t, c.topics, partitions)
	nc, err := nats.Connect(c.nats.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	c.nc = nc
	c.producer = ingest.NewProducer(c.brokers(), zerolog.Nop())
	t.Cleanup(func() { c.producer.Close() })
	return c
}

func (c *cluster) brokers() []string { return []string{c.kafka.Addr()} }

func (c *cluster) start() {
	c.t.Helper()
	log := zerolog.Nop()
	if os.Getenv("GRIDSESSION_TEST_LOG") != "" {
		log = zerolog.New(zerolog.NewTestWriter(c.t)).Level(zerolog.InfoLevel)
	}
	w, err := processor.New(processor.Config{
		Brokers:    c.brokers(),
		Topics:     c.topics,
		DataDir:    c.dataDir,
		Projection: projection.Config{ContactKey: []byte("integration-contact-key")},
		NoSync:     true,
		Clock:      c.clock,
		Log:        log,
	}, publish.New(c.nc), c.producer)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan error, 1)
	go func() { c.done <- w.Run(ctx) }()
	c.t.Cleanup(c.stop)
}

func (c *cluster) stop() {
	if c.cancel == nil {
		return
	}
	c.cancel()
	select {
	case err := <-c.done:
		if err != nil {
			c.t.Errorf("worker: %v", err)
		}
	case <-time.After(60 * time.Second):
		c.t.Fatal("worker did not stop within 60s")
	}
	c.cancel = nil
}

// sessions reads every stored session of a stopped worker, keyed by
// tenant/session, with its encoded form.
func (c *cluster) sessions() map[string]*projection.Session {
	c.t.Helper()
	out := map[string]*projection.Session{}
	for p := 0; p < partitions; p++ {
		dir := processor.StoreDir(c.dataDir, p)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		s, err := statestore.Open(dir, statestore.Options{NoSync: true})
		if err != nil {
			c.t.Fatal(err)
		}
		err = s.ScanAll(func(tenant, table, id string, value []byte) error {
			if table != "session" {
				return nil
			}
			sess, err := projection.Unmarshal(value)
			out[tenant+"/"+id] = sess
			return err
		})
		s.Close()
		if err != nil {
			c.t.Fatal(err)
		}
	}
	return out
}
