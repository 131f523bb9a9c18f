package processor_test

import (
	"context"
	"encoding/json"

	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/embedded"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/statestore"
)

const testPartitions = 4

var testKey = []byte("0123456789abcdef-test-contact-key")

// testNow is the clock of the test workers: five minutes after the events'
// time, so no cart expires during a test.
var testNow = time.Date(2026, 1, 2, 10, 5, 0, 0, time.UTC)

func testClock() time.Time { return testNow }

// env is one embedded broker and NATS server with a running worker.
type env struct {
	t        *testing.T
	kafka    *embedded.Kafka
	nats     *embedded.NATS
	nc       *nats.Conn
	producer *ingest.Producer
	topics   ingest.Topics
	subjects publish.Subjects
	dataDir  string

	cancel context.CancelFunc
	done   chan error
	worker *processor.Worker

	// events and rejected count records of the events topic folded and
	// records rejected, over every run of the env.
	events   atomic.Int64
	sessions atomic.Int64
	rejected atomic.Int64
	// clock is the workers' current time in Unix milliseconds; it starts
	// at testNow and moves only when a test moves it.
	clock atomic.Int64
}

func (e *env) now() time.Time { return time.UnixMilli(e.clock.Load()).UTC() }

// advance moves the workers' clock forward by d.
func (e *env) advance(d time.Duration) { e.clock.Add(d.Milliseconds()) }

func (e *env) appliedEvents() int64 { return e.events.Load() }

func newEnv(t *testing.T) *env {
	t.Helper()
	topics := ingest.Topics{Prefix: "test"}
	e := &env{
		t:        t,
		kafka:    embedded.KafkaForTest(t, topics.All(), testPartitions),
		nats:     embedded.NATSForTest(t),
		topics:   topics,
		subjects: publish.Subjects{Prefix: "gs"},
		dataDir:  t.TempDir(),
	}
	e.clock.Store(testNow.UnixMilli())
	nc, err := nats.Connect(e.nats.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	e.nc = nc
	e.producer = ingest.NewProducer([]string{e.kafka.Addr()}, zerolog.Nop())
	t.Cleanup(func() { e.producer.Close() })
	return e
}

// start runs a worker on the env's data directory until stop.
func (e *env) start(mutate ...func(*processor.Worker)) {
	e.t.Helper()
	cfg := processor.Config{
		Brokers:       []string{e.kafka.Addr()},
		GroupID:       "test-session",
		Topics:        e.topics,
		Subjects:      e.subjects,
		DataDir:       e.dataDir,
		Projection:    projection.Config{ContactKey: testKey},
		NoSync:        true,
		Clock:         e.now,
		SweepInterval: 50 * time.Millisecond,
		Queries:       e.nc,
		Log:           testLogger(e.t),
		Hooks: processor.Hooks{OnBatch: func(s processor.BatchStats) {
			e.events.Add(int64(s.Applied[e.topics.Events()]))
			e.sessions.Add(int64(s.Applied[e.topics.Sessions()]))
			e.rejected.Add(int64(s.Rejected))
		}},
	}
	w, err := processor.New(cfg, publish.New(e.nc), e.producer)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range mutate {
		m(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done, e.worker = cancel, make(chan error, 1), w
	go func() { e.done <- w.Run(ctx) }()
	e.t.Cleanup(e.stop)
}

// stop cancels the worker and waits for it to leave the group.
func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("worker: %v", err)
		}
	case <-time.After(60 * time.Second):
		e.t.Fatal("worker did not stop within 60s")
	}
	e.cancel = nil
}

func testLogger(t *testing.T) zerolog.Logger {
	if os.Getenv("GRIDSESSION_TEST_LOG") != "" {
		return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
	}
	return zerolog.Nop()
}

// send produces records keyed by their id.
func (e *env) send(msgs ...kafka.Message) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.producer.Send(ctx, msgs...); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) event(session string, fields map[string]any) kafka.Message {
	rec := map[string]any{
		"tenantId": "t1", "eventTime": "2026-01-02T10:00:00Z", "dataResidency": "EU",
		"sessionId": session, "clientId": "c1", "eventType": "PRODUCT_VIEW",
	}
	for k, v := range fields {
		if v == nil {
			delete(rec, k)
			continue
		}
		rec[k] = v
	}
	return e.raw(e.topics.Events(), session, rec)
}

func (e *env) sessionRecord(tenant, session, space string) kafka.Message {
	rec := map[string]any{
		"tenantId": tenant, "sessionId": session, "sessionCreated": "2026-01-02T09:59:00Z",
		"environment": 1, "dataResidency": "EU", "country": "DE", "spaceId": space,
		"appId": "app", "appVersion": "1.0.0", "installationId": "i1",
		"installationVersion": "1", "deviceId": "d1", "clientId": "c1",
	}
	return e.raw(e.topics.Sessions(), session, rec)
}

func (e *env) raw(topic, key string, rec any) kafka.Message {
	b, err := json.Marshal(rec)
	if err != nil {
		e.t.Fatal(err)
	}
	return kafka.Message{Topic: topic, Key: []byte(key), Value: b}
}

// collector records NATS messages of one subject pattern.
type collector struct {
	mu   sync.Mutex
	msgs []*nats.Msg
}

func (e *env) collect(subject string) *collector {
	e.t.Helper()
	c := &collector{}
	sub, err := e.nc.Subscribe(subject, func(m *nats.Msg) {
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		c.mu.Unlock()
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.nc.Flush(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { sub.Unsubscribe() })
	return c
}

// collectStates records the session state messages of one tenant.
func (e *env) collectStates(tenant string) *collector {
	e.t.Helper()
	c := &collector{}
	sub, err := e.nc.Subscribe(e.subjects.Tenant(tenant), func(m *nats.Msg) {
		if !strings.HasSuffix(m.Subject, ".state") {
			return
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		c.mu.Unlock()
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.nc.Flush(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { sub.Unsubscribe() })
	return c
}

func (c *collector) all() []*nats.Msg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*nats.Msg(nil), c.msgs...)
}

func (c *collector) len() int { return len(c.all()) }

func version(t *testing.T, m *nats.Msg) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(m.Header.Get(publish.HeaderVersion), 10, 64)
	if err != nil {
		t.Fatalf("message on %s has no version header: %v", m.Subject, err)
	}
	return v
}

// waitFor polls cond every 20ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// storedSessions opens every partition store of a stopped worker and
// returns the sessions in it by tenant/session.
func storedSessions(t *testing.T, dataDir string) map[string]*projection.Session {
	t.Helper()
	out := map[string]*projection.Session{}
	for p := 0; p < testPartitions; p++ {
		dir := processor.StoreDir(dataDir, p)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		s, err := statestore.Open(dir, statestore.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		err = s.ScanAll(func(tenant, table, id string, value []byte) error {
			if table != "session" {
				return nil
			}
			sess, err := projection.Unmarshal(value)
			if err != nil {
				return err
			}
			out[tenant+"/"+id] = sess
			return nil
		})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}
