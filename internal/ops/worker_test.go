package ops_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/internal/ops"
)

// TestMetricsCountLoad sends valid records, one duplicate and bad records
// of known reasons to a running worker, then checks the counts that
// /metrics reports over HTTP.
func TestMetricsCountLoad(t *testing.T) {
	e := newEnv(t)
	e.start()
	waitReady(t, e)

	const sessions = 5
	var sessionRecords, events []kafka.Message
	for i := range sessions {
		id := fmt.Sprintf("s%d", i)
		sessionRecords = append(sessionRecords, e.session(id, "store-1", nil))
		events = append(events,
			e.event(id, map[string]any{"eventType": "CART_ADD", "productId": "p1", "captureId": id + "-a"}),
			e.event(id, map[string]any{"eventType": "PRODUCT_VIEW", "productId": "p2", "captureId": id + "-b"}),
			e.event(id, map[string]any{"eventType": "RATING", "int1": 4, "captureId": id + "-c"}),
		)
	}
	validEvents := len(events)
	events = append(events, e.event("s0", map[string]any{"eventType": "PRODUCT_VIEW", "productId": "p2", "captureId": "s0-b"}))

	wrongKey := e.event("s2", map[string]any{"captureId": "wk"})
	wrongKey.Key = []byte("s3")
	badEvents := []kafka.Message{
		{Topic: e.topics.Events(), Key: []byte("s1"), Value: []byte("{")},
		{Topic: e.topics.Events(), Key: []byte("s4"), Value: []byte(`{"tenantId":`)},
		e.event("s0", map[string]any{"eventTime": nil, "captureId": "mf"}),
		e.event("s1", map[string]any{"dataResidency": "MARS", "captureId": "ur"}),
		e.event("s3", map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": 0, "captureId": "if"}),
		wrongKey,
	}
	badSession := e.session("s9", "store-1", map[string]any{"sessionCreated": nil})

	e.send(sessionRecords...)
	e.send(badSession)
	e.send(events...)
	e.send(badEvents...)

	eventsLabels := map[string]string{"stage": ops.StageSession, "topic": e.topics.Events()}
	sessionsLabels := map[string]string{"stage": ops.StageSession, "topic": e.topics.Sessions()}
	waitFor(t, 60*time.Second, "every record applied or rejected", func() bool {
		s := e.scrape()
		applied, _ := s.value("gridsession_records_applied_total", eventsLabels)
		rejected := s.sum("gridsession_records_rejected_total", map[string]string{"topic": e.topics.Events()})
		sessionsApplied, _ := s.value("gridsession_records_applied_total", sessionsLabels)
		return applied+rejected == float64(len(events)+len(badEvents)) && sessionsApplied == sessions
	})

	s := e.scrape()
	checkValue(t, s, "gridsession_records_applied_total", eventsLabels, float64(validEvents+1))
	checkValue(t, s, "gridsession_records_applied_total", sessionsLabels, sessions)
	checkValue(t, s, "gridsession_records_applied_total", map[string]string{"stage": ops.StageSession, "topic": e.topics.Clients()}, 0)
	checkValue(t, s, "gridsession_records_duplicate_total", map[string]string{"stage": ops.StageSession}, 1)
	checkValue(t, s, "gridsession_records_skipped_total", map[string]string{"stage": ops.StageSession}, 0)

	wantRejected := map[string]float64{
		"invalid_json":    2,
		"missing_field":   1,
		"unknown_region":  1,
		"invalid_field":   1,
		"wrong_key":       1,
		"wrong_partition": 0,
		"oversized":       0,
		"limit_exceeded":  0,
	}
	for reason, want := range wantRejected {
		checkValue(t, s, "gridsession_records_rejected_total", map[string]string{"topic": e.topics.Events(), "reason": reason}, want)
	}
	checkValue(t, s, "gridsession_records_rejected_total", map[string]string{"topic": e.topics.Sessions(), "reason": "missing_field"}, 1)
	if got := s.sum("gridsession_records_rejected_total", nil); got != float64(len(badEvents)+1) {
		t.Errorf("rejected in total: %v, want %d", got, len(badEvents)+1)
	}

	checkValue(t, s, "gridsession_partitions_owned", map[string]string{"stage": ops.StageSession}, testPartitions)
	checkValue(t, s, "gridsession_partitions_owned", map[string]string{"stage": ops.StageSpace}, testPartitions)
	checkValue(t, s, "gridsession_nats_publish_errors_total", map[string]string{}, 0)
	if n, _ := s.value("gridsession_batch_commit_duration_seconds", map[string]string{"stage": ops.StageSession}); n < 1 {
		t.Errorf("session batch commit histogram has %v observations, want at least 1", n)
	}
	if n, _ := s.value("gridsession_nats_messages_published_total", map[string]string{"stage": ops.StageSession}); n < float64(validEvents) {
		t.Errorf("session stage published %v NATS messages, want at least one per applied event (%d)", n, validEvents)
	}
}

// TestLagReachesZero checks that once the worker has caught up, every
// input topic partition of both stages reports a lag of 0.
func TestLagReachesZero(t *testing.T) {
	e := newEnv(t)
	e.start()
	waitReady(t, e)

	var msgs []kafka.Message
	for i := range 20 {
		id := fmt.Sprintf("s%d", i)
		msgs = append(msgs,
			e.session(id, fmt.Sprintf("store-%d", i%3), nil),
			e.event(id, map[string]any{"eventType": "CART_ADD", "productId": "p1", "captureId": id + "-a"}),
		)
	}
	e.send(msgs...)

	spaceLabels := map[string]string{"stage": ops.StageSpace, "topic": e.topics.SpaceUpdates()}
	waitFor(t, 60*time.Second, "the space stage to apply contributions", func() bool {
		n, _ := e.scrape().value("gridsession_records_applied_total", spaceLabels)
		return n > 0
	})

	// Four input topics (clients, sessions, events, space-updates), each
	// with testPartitions partitions owned by this one worker.
	const wantSeries = 4 * testPartitions
	var last string
	waitFor(t, 60*time.Second, "a lag of 0 on every partition", func() bool {
		series := e.scrape().series("gridsession_consumer_lag_records", nil)
		var nonZero []string
		for _, m := range series {
			if m.GetGauge().GetValue() != 0 {
				nonZero = append(nonZero, m.String())
			}
		}
		last = fmt.Sprintf("%d series, not 0: %v", len(series), nonZero)
		return len(series) == wantSeries && len(nonZero) == 0
	})
	t.Logf("lag: %s", last)

	// Every partition of the events topic has a series: from the offset
	// the worker applied where it got records, or 0 where it is empty.
	events := e.scrape().series("gridsession_consumer_lag_records", map[string]string{"stage": ops.StageSession, "topic": e.topics.Events()})
	if len(events) != testPartitions {
		t.Errorf("%d lag series for the events topic, want %d", len(events), testPartitions)
	}
}

func TestReadyzFollowsAssignmentAndRestore(t *testing.T) {
	e := newEnv(t)

	status, body := e.get("/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "no partition") {
		t.Errorf("/readyz before the worker runs: %d %q, want 503 naming the missing assignment", status, body)
	}
	if status, body := e.get("/healthz"); status != http.StatusOK {
		t.Errorf("/healthz before the worker runs: %d %q, want 200", status, body)
	}

	e.start()
	waitReady(t, e)

	e.readiness.RestoreStarted(ops.StageSession, 1)
	status, body = e.get("/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "session/1") {
		t.Errorf("/readyz during a restore: %d %q, want 503 naming session/1", status, body)
	}
	e.readiness.RestoreDone(ops.StageSession, 1)
	if status, body := e.get("/readyz"); status != http.StatusOK {
		t.Errorf("/readyz after the restore: %d %q, want 200", status, body)
	}
	if status, body := e.get("/healthz"); status != http.StatusOK {
		t.Errorf("/healthz while running: %d %q, want 200", status, body)
	}
}

func TestProbesFailAfterRunReturns(t *testing.T) {
	e := newEnv(t)
	e.start()
	waitReady(t, e)
	e.stop()

	for _, path := range []string{"/healthz", "/readyz"} {
		status, body := e.get(path)
		if status != http.StatusServiceUnavailable || !strings.Contains(body, "stopped") {
			t.Errorf("%s after Run returned: %d %q, want 503 saying the worker stopped", path, status, body)
		}
	}
	owned := e.scrape().value
	for _, stage := range []string{ops.StageSession, ops.StageSpace} {
		if n, _ := owned("gridsession_partitions_owned", map[string]string{"stage": stage}); n != 0 {
			t.Errorf("%s partitions owned after stop: %v, want 0", stage, n)
		}
	}
}

func waitReady(t *testing.T, e *env) {
	t.Helper()
	waitFor(t, 60*time.Second, "/readyz to return 200", func() bool {
		status, _ := e.get("/readyz")
		return status == http.StatusOK
	})
}

func checkValue(t *testing.T, s scraped, name string, labels map[string]string, want float64) {
	t.Helper()
	got, ok := s.value(name, labels)
	if !ok {
		t.Errorf("%s%v: no such series", name, labels)
		return
	}
	if got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}
