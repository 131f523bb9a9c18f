package ops_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/embedded"
	"github.com/gridsession/gridsession/internal/ops"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/publish"
)

const testPartitions = 4

// env is an embedded broker and NATS server, the metrics and readiness of
// one worker and the HTTP server that exposes them. The worker itself
// starts with start.
type env struct {
	t         *testing.T
	kafka     *embedded.Kafka
	nc        *nats.Conn
	producer  *ingest.Producer
	topics    ingest.Topics
	metrics   *ops.Metrics
	readiness *ops.Readiness
	server    *ops.Server
	base      string // http://host:port of the server

	cancel context.CancelFunc
	done   chan error
}

func newEnv(t *testing.T) *env {
	t.Helper()
	topics := ingest.Topics{Prefix: "ops"}
	e := &env{
		t:         t,
		kafka:     embedded.KafkaForTest(t, topics.All(), testPartitions),
		topics:    topics,
		metrics:   ops.NewMetrics(topics),
		readiness: ops.NewReadiness(),
	}
	natsServer := embedded.NATSForTest(t)
	nc, err := nats.Connect(natsServer.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	e.nc = nc
	e.producer = ingest.NewProducer([]string{e.kafka.Addr()}, zerolog.Nop())
	t.Cleanup(func() { e.producer.Close() })

	e.server, err = ops.Listen("127.0.0.1:0", e.metrics, e.readiness, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.server.Close() })
	e.base = "http://" + e.server.Addr()
	return e
}

// start runs a worker with the env's hooks and a lag poller until stop.
func (e *env) start() {
	e.t.Helper()
	brokers := []string{e.kafka.Addr()}
	w, err := processor.New(processor.Config{
		Brokers:      brokers,
		GroupID:      "ops-session",
		SpaceGroupID: "ops-space",
		Topics:       e.topics,
		Subjects:     publish.Subjects{Prefix: "ops"},
		DataDir:      e.t.TempDir(),
		Projection:   projection.Config{ContactKey: []byte("0123456789abcdef-ops-test-key")},
		NoSync:       true,
		Clock:        func() time.Time { return time.Date(2026, 1, 2, 10, 5, 0, 0, time.UTC) },
		Log:          testLogger(e.t),
		Hooks:        ops.Hooks(e.metrics, e.readiness),
	}, publish.New(e.nc), e.producer)
	if err != nil {
		e.t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	go e.metrics.PollLag(ctx, ops.LagOptions{Brokers: brokers, Interval: 100 * time.Millisecond, Log: testLogger(e.t)})
	go func() {
		err := w.Run(ctx)
		e.readiness.Stopped()
		e.done <- err
	}()
	e.t.Cleanup(e.stop)
}

// stop cancels the worker and waits for its Run to return.
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

// send produces records, each to the partition murmur2 picks for its key.
func (e *env) send(msgs ...kafka.Message) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.producer.Send(ctx, msgs...); err != nil {
		e.t.Fatal(err)
	}
}

// event returns an event record of session keyed by session, with fields
// set over a valid PRODUCT_VIEW. A nil value removes the field.
func (e *env) event(session string, fields map[string]any) kafka.Message {
	rec := map[string]any{
		"tenantId": "t1", "eventTime": "2026-01-02T10:00:00Z", "dataResidency": "EU",
		"sessionId": session, "clientId": "c1", "eventType": "PRODUCT_VIEW",
	}
	return e.record(e.topics.Events(), session, rec, fields)
}

// session returns a session record that puts session in space.
func (e *env) session(session, space string, fields map[string]any) kafka.Message {
	rec := map[string]any{
		"tenantId": "t1", "sessionId": session, "sessionCreated": "2026-01-02T09:59:00Z",
		"environment": 1, "dataResidency": "EU", "country": "DE", "spaceId": space,
		"appId": "app", "appVersion": "1.0.0", "installationId": "i1",
		"installationVersion": "1", "deviceId": "d1", "clientId": "c1",
	}
	return e.record(e.topics.Sessions(), session, rec, fields)
}

func (e *env) record(topic, key string, rec, fields map[string]any) kafka.Message {
	for k, v := range fields {
		if v == nil {
			delete(rec, k)
			continue
		}
		rec[k] = v
	}
	b, err := json.Marshal(rec)
	if err != nil {
		e.t.Fatal(err)
	}
	return kafka.Message{Topic: topic, Key: []byte(key), Value: b}
}

// get requests path from the env's server and returns the status and body.
func (e *env) get(path string) (int, string) {
	e.t.Helper()
	resp, err := http.Get(e.base + path)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// scrape reads /metrics over HTTP and parses the text format.
func (e *env) scrape() scraped {
	e.t.Helper()
	status, body := e.get("/metrics")
	if status != http.StatusOK {
		e.t.Fatalf("GET /metrics: status %d: %s", status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		e.t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return families
}

// scraped is one scrape of /metrics, by metric name.
type scraped map[string]*dto.MetricFamily

// series returns the series of name whose labels include labels.
func (s scraped) series(name string, labels map[string]string) []*dto.Metric {
	family := s[name]
	if family == nil {
		return nil
	}
	var out []*dto.Metric
	for _, m := range family.GetMetric() {
		if hasLabels(m, labels) {
			out = append(out, m)
		}
	}
	return out
}

// value returns the value of the one series of name with exactly labels,
// and false when there is none.
func (s scraped) value(name string, labels map[string]string) (float64, bool) {
	for _, m := range s.series(name, labels) {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// sum adds the counter and gauge values of the series of name whose labels
// include labels.
func (s scraped) sum(name string, labels map[string]string) float64 {
	total := 0.0
	for _, m := range s.series(name, labels) {
		total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return total
}

func hasLabels(m *dto.Metric, labels map[string]string) bool {
	found := 0
	for _, l := range m.GetLabel() {
		if want, ok := labels[l.GetName()]; ok {
			if want != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(labels)
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
