package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/client"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/schemas"
)

// waitTimeout bounds every wait in these tests.
const waitTimeout = 10 * time.Second

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newClient returns a client of tenant "shop" that the test closes at its
// end; mutate may change its Config.
func newClient(t *testing.T, mutate ...func(*client.Config)) *client.Client {
	t.Helper()
	cfg := client.Config{Brokers: brokers, NATSURL: natsURL, Tenant: "shop", Region: "EU"}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := client.New(testContext(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func rawConn(t *testing.T) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// receive returns the next value from ch, or fails the test after
// waitTimeout.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("nothing received within %s", waitTimeout)
	}
	panic("unreachable")
}

func publishState(t *testing.T, nc *nats.Conn, subject string, version uint64, data string) {
	t.Helper()
	m := publish.StateMessage(subject, version, []byte(data), publish.IDs{Tenant: "shop"})
	if err := nc.PublishMsg(&nats.Msg{Subject: m.Subject, Data: m.Data, Header: m.Header}); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidateNamesSetting(t *testing.T) {
	valid := client.Config{Brokers: []string{"127.0.0.1:9092"}, NATSURL: "nats://127.0.0.1:4222", Tenant: "shop", Region: "EU"}
	tests := []struct {
		name   string
		mutate func(*client.Config)
		want   string
	}{
		{"no brokers", func(c *client.Config) { c.Brokers = nil }, "Config.Brokers"},
		{"no NATS URL", func(c *client.Config) { c.NATSURL = " " }, "Config.NATSURL"},
		{"no tenant", func(c *client.Config) { c.Tenant = "" }, "Config.Tenant"},
		{"tenant with dot", func(c *client.Config) { c.Tenant = "a.b" }, "Config.Tenant"},
		{"no region", func(c *client.Config) { c.Region = "" }, "Config.Region"},
		{"unserved region", func(c *client.Config) { c.Region = "US"; c.Regions = []string{"EU"} }, "Config.Region"},
		{"bad topic prefix", func(c *client.Config) { c.TopicPrefix = "a b" }, "Config.TopicPrefix"},
		{"bad subject prefix", func(c *client.Config) { c.SubjectPrefix = "a.*" }, "Config.SubjectPrefix"},
		{"negative timeout", func(c *client.Config) { c.RequestTimeout = -time.Second }, "Config.RequestTimeout"},
	}
	if err := valid.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.mutate(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, expected an error naming %s", err, tt.want)
			}
		})
	}
}

func TestNewFailsWithoutBroker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := client.New(ctx, client.Config{Brokers: []string{"127.0.0.1:1"}, NATSURL: natsURL, Tenant: "shop", Region: "EU"})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("New with an unreachable broker: %v, expected an error naming the address", err)
	}
}

func TestSendFillsDefaults(t *testing.T) {
	c := newClient(t)
	ctx := testContext(t)
	sub, err := c.CreateSessionEventSubscription(ctx, "defaults")
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan schemas.Event, 10)
	if err := sub.Subscribe(func(e schemas.Event) { events <- e }); err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()

	err = c.SendEvent(ctx, schemas.Event{SessionID: "defaults", ClientID: "c1", EventTime: "2026-01-02T10:00:00Z", EventType: "PAGE_VIEW"})
	if err != nil {
		t.Fatal(err)
	}
	e := receive(t, events)
	if e.TenantID != "shop" || e.DataResidency != "EU" {
		t.Errorf("event arrived with tenant %q and region %q, expected the Config's shop and EU", e.TenantID, e.DataResidency)
	}
	if len(e.CaptureID) != 36 || strings.Count(e.CaptureID, "-") != 4 {
		t.Errorf("event arrived with captureId %q, expected a generated UUID", e.CaptureID)
	}
	if want := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC); !e.Time.Equal(want) {
		t.Errorf("event Time = %s, expected %s", e.Time, want)
	}
}

func TestSendRejectsInvalidRecords(t *testing.T) {
	c := newClient(t)
	ctx := testContext(t)
	tests := []struct {
		name  string
		send  func() error
		field string
	}{
		{"client without country", func() error {
			return c.SendClient(ctx, schemas.Client{ClientID: "c1", ClientCreated: "2026-01-02T10:00:00Z", ClientUserAgent: "ua"})
		}, "country"},
		{"session with dotted space", func() error {
			return c.SendSession(ctx, schemas.Session{SessionID: "s1", SessionCreated: "2026-01-02T10:00:00Z", Environment: "1", Country: "DE",
				SpaceID: "store.1", AppID: "a", AppVersion: "1", InstallationID: "i", InstallationVersion: "1", DeviceID: "d", ClientID: "c1"})
		}, "spaceId"},
		{"event with bad time", func() error {
			return c.SendEvent(ctx, schemas.Event{SessionID: "s1", ClientID: "c1", EventTime: "yesterday", EventType: "PAGE_VIEW"})
		}, "eventTime"},
		{"rating out of range", func() error {
			six := int64(6)
			return c.SendEvent(ctx, schemas.Event{SessionID: "s1", ClientID: "c1", EventTime: "2026-01-02T10:00:00Z", EventType: "RATING", Int1: &six})
		}, "int1"},
		{"unserved region", func() error {
			return c.SendEvent(ctx, schemas.Event{SessionID: "s1", ClientID: "c1", EventTime: "2026-01-02T10:00:00Z", EventType: "PAGE_VIEW", DataResidency: "MARS"})
		}, "dataResidency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.send()
			var fieldErr *schemas.FieldError
			if !errors.As(err, &fieldErr) {
				t.Fatalf("send returned %v, expected a *schemas.FieldError", err)
			}
			if fieldErr.Field != tt.field {
				t.Errorf("error names field %q, expected %q", fieldErr.Field, tt.field)
			}
		})
	}
}

func TestStateSubscriptionDropsStaleVersions(t *testing.T) {
	c := newClient(t)
	nc := rawConn(t)
	sub, err := c.CreateSessionStateSubscription(testContext(t), "versions")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 20)
	if err := sub.Subscribe(func(s schemas.SessionState) { got <- fmt.Sprint(s.Cart["p"]) }); err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()

	subject := sub.Subject()
	publishState(t, nc, subject, 2, `{"CART":{"p":2},"SEARCH":[]}`)
	publishState(t, nc, subject, 2, `{"CART":{"p":2},"SEARCH":[]}`)
	publishState(t, nc, subject, 1, `{"CART":{"p":1},"SEARCH":[]}`)
	if err := nc.Publish(subject, []byte(`{"CART":{"p":99},"SEARCH":[]}`)); err != nil {
		t.Fatal(err)
	}
	publishState(t, nc, subject, 4, `not json`)
	publishState(t, nc, subject, 3, `{"CART":{"p":3},"SEARCH":[]}`)
	publishState(t, nc, subject, 10, `{"CART":{"p":10},"SEARCH":[]}`)

	// The message without a version and the undecodable one are dropped
	// without moving the last version, so version 3 still arrives.
	for _, want := range []string{"2", "3", "10"} {
		if v := receive(t, got); v != want {
			t.Errorf("received cart quantity %s, expected %s", v, want)
		}
	}
}

func TestEventSubscriptionDropsDuplicates(t *testing.T) {
	c := newClient(t)
	nc := rawConn(t)
	sub, err := c.CreateSessionEventSubscription(testContext(t), "duplicates")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 20)
	if err := sub.Subscribe(func(e schemas.Event) { got <- e.CaptureID }); err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()

	for _, id := range []string{"a", "b", "a", "c", "b", "d"} {
		data := fmt.Sprintf(`{"captureId":%q,"eventType":"PAGE_VIEW","sessionId":"duplicates","tenantId":"shop"}`, id)
		m := publish.EventMessage(sub.Subject(), []byte(data), publish.IDs{Tenant: "shop", CaptureID: id})
		if err := nc.PublishMsg(&nats.Msg{Subject: m.Subject, Data: m.Data, Header: m.Header}); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"a", "b", "c", "d"} {
		if id := receive(t, got); id != want {
			t.Errorf("received captureId %s, expected %s", id, want)
		}
	}
}

func TestStopWaitsForCallbackAndEndsDelivery(t *testing.T) {
	c := newClient(t)
	nc := rawConn(t)
	sub, err := c.CreateSessionStateSubscription(testContext(t), "stop")
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int32
	err = sub.Subscribe(func(schemas.SessionState) {
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Subscribe(func(schemas.SessionState) {}); !errors.Is(err, client.ErrSubscribed) {
		t.Errorf("second Subscribe: %v, expected ErrSubscribed", err)
	}

	// A raw subscriber receives every message, which shows when the ones
	// published after Stop have been delivered.
	witness, err := nc.SubscribeSync(sub.Subject())
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	publishState(t, nc, sub.Subject(), 1, `{"CART":{},"SEARCH":[]}`)
	receive(t, entered)
	stopped := make(chan struct{})
	go func() {
		sub.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a callback was running")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	receive(t, stopped)

	for v := uint64(2); v <= 3; v++ {
		publishState(t, nc, sub.Subject(), v, `{"CART":{},"SEARCH":[]}`)
	}
	for range 3 {
		if _, err := witness.NextMsg(waitTimeout); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("callback called %d times, expected once: nothing may arrive after Stop", n)
	}
	if err := sub.Subscribe(func(schemas.SessionState) {}); !errors.Is(err, client.ErrStopped) {
		t.Errorf("Subscribe after Stop: %v, expected ErrStopped", err)
	}
	sub.Stop()
}

func TestCloseRejectsCalls(t *testing.T) {
	cfg := client.Config{Brokers: brokers, NATSURL: natsURL, Tenant: "shop", Region: "EU"}
	c, err := client.New(testContext(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	sub, err := c.CreateSessionStateSubscription(ctx, "closed")
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Subscribe(func(schemas.SessionState) {}); err != nil {
		t.Fatal(err)
	}
	unused, err := c.CreateSessionStateSubscription(ctx, "closed")
	if err != nil {
		t.Fatal(err)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.GetSessionState(ctx, "closed"); !errors.Is(err, client.ErrClosed) {
		t.Errorf("GetSessionState after Close: %v, expected ErrClosed", err)
	}
	err = c.SendEvent(ctx, schemas.Event{SessionID: "closed", ClientID: "c1", EventTime: "2026-01-02T10:00:00Z", EventType: "PAGE_VIEW"})
	if !errors.Is(err, client.ErrClosed) {
		t.Errorf("SendEvent after Close: %v, expected ErrClosed", err)
	}
	if err := unused.Subscribe(func(schemas.SessionState) {}); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Subscribe after Close: %v, expected ErrClosed", err)
	}
	if err := sub.Subscribe(func(schemas.SessionState) {}); !errors.Is(err, client.ErrStopped) {
		t.Errorf("Subscribe of a subscription that Close stopped: %v, expected ErrStopped", err)
	}
}

func TestInvalidIDsAreRejectedBeforeSending(t *testing.T) {
	c := newClient(t)
	ctx := testContext(t)
	checks := map[string]error{}
	_, checks["GetSessionState with a dot"] = c.GetSessionState(ctx, "a.b")
	_, checks["GetSpaceState without password"] = c.GetSpaceState(ctx, username, "", "s1")
	_, checks["GetSpaceStateBySpace with wildcard"] = c.GetSpaceStateBySpace(ctx, username, password, "store-*")
	_, checks["CreateSessionStateSubscription empty"] = c.CreateSessionStateSubscription(ctx, "")
	_, checks["CreateSpaceEventSubscription with space"] = c.CreateSpaceEventSubscription(ctx, username, password, "a b")
	for name, err := range checks {
		if !errors.Is(err, client.ErrInvalidRequest) {
			t.Errorf("%s: %v, expected ErrInvalidRequest", name, err)
		}
	}
}

func TestSpaceReadsRejectWrongKeys(t *testing.T) {
	c := newClient(t)
	ctx := testContext(t)
	if _, err := c.GetSpaceStateBySpace(ctx, "b-unknown", "secret", "store-1"); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("get with an unknown browser id: %v, expected ErrUnauthorized", err)
	}
	if _, err := c.CreateSpaceStateSubscription(ctx, username, password+"x", "store-1"); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("subscription with a wrong access key: %v, expected ErrUnauthorized", err)
	}
	other := newClient(t, func(cfg *client.Config) { cfg.Tenant = "other" })
	if _, err := other.GetSpaceStateRowsBySpace(ctx, username, password, "store-1"); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("get with a key of another tenant: %v, expected ErrForbidden", err)
	}
}

func TestSpaceOfSessionWithoutRecordIsEmpty(t *testing.T) {
	c := newClient(t)
	ctx := testContext(t)
	state, err := c.GetSpaceState(ctx, username, password, "no-session-record")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(state); string(b) != `{"CART":{}}` {
		t.Errorf("space state of a session without space = %s, expected {\"CART\":{}}", b)
	}
	rows, err := c.GetSpaceStateRows(ctx, username, password, "no-session-record")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(rows); string(b) != `{"RATING":{},"CART":{}}` {
		t.Errorf("space rows of a session without space = %s, expected {\"RATING\":{},\"CART\":{}}", b)
	}
}

// fakeOwner replies to the session gets of one partition under a separate
// subject prefix. It replies with the error codes in codes before its first
// success.
type fakeOwner struct {
	mu       sync.Mutex
	codes    []int
	requests int
}

func (f *fakeOwner) handle(_ context.Context, _ string, request []byte) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if len(f.codes) > 0 {
		code := f.codes[0]
		f.codes = f.codes[1:]
		return nil, &publish.QueryError{Code: code, Message: "code " + strconv.Itoa(code)}
	}
	var req schemas.SessionRequest
	if err := json.Unmarshal(request, &req); err != nil {
		return nil, err
	}
	return schemas.SessionStateAnswer{Session: schemas.SessionState{Cart: map[string]int64{req.SessionID: 1}, Search: []string{}}}, nil
}

// serveFake starts replying to session gets of sessionID on the partition
// that murmur2 picks among testPartitions, under subject prefix prefix.
// The caller stops the returned service.
func serveFake(nc *nats.Conn, prefix, sessionID string, f *fakeOwner) (*publish.QueryService, error) {
	partitions := make([]int, testPartitions)
	for i := range partitions {
		partitions[i] = i
	}
	partition := kafka.Murmur2Balancer{}.Balance(kafka.Message{Key: []byte(sessionID)}, partitions...)
	subjects := publish.Subjects{Prefix: prefix}
	return publish.ServeQueries(nc, "fake-owner", "1.0.0", []string{publish.OpSessionGet},
		func(op string) string { return subjects.Query(publish.StageSession, partition, op) }, f.handle)
}

func TestGetRetriesUntilOwnerAnswers(t *testing.T) {
	c := newClient(t, func(cfg *client.Config) { cfg.SubjectPrefix = "retry" })
	nc := rawConn(t)
	f := &fakeOwner{codes: []int{publish.CodeMisdirected, publish.CodeUnavailable}}

	// No worker replies at first, then one that is not yet the owner.
	started := make(chan *publish.QueryService, 1)
	time.AfterFunc(200*time.Millisecond, func() {
		svc, err := serveFake(nc, "retry", "s-retry", f)
		if err != nil {
			t.Errorf("start the fake owner: %v", err)
		}
		started <- svc
	})
	defer func() { receive(t, started).Stop() }()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	answer, err := c.GetSessionState(ctx, "s-retry")
	if err != nil {
		t.Fatal(err)
	}
	if answer.Session.Cart["s-retry"] != 1 {
		t.Errorf("answer %+v, expected the fake owner's cart", answer)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.requests != 3 {
		t.Errorf("the owner received %d requests, expected 3: two errors to retry, then the answer", f.requests)
	}
}

func TestGetReturnsErrorCodes(t *testing.T) {
	c := newClient(t, func(cfg *client.Config) { cfg.SubjectPrefix = "codes" })
	nc := rawConn(t)
	f := &fakeOwner{codes: []int{publish.CodeBadRequest, publish.CodeUnauthorized, publish.CodeForbidden, publish.CodeRateLimited, publish.CodeInternal}}
	svc, err := serveFake(nc, "codes", "s-codes", f)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()

	for _, want := range []error{client.ErrInvalidRequest, client.ErrUnauthorized, client.ErrForbidden, client.ErrRateLimited} {
		_, err := c.GetSessionState(testContext(t), "s-codes")
		if !errors.Is(err, want) {
			t.Errorf("get: %v, expected %v", err, want)
		}
	}
	_, err = c.GetSessionState(testContext(t), "s-codes")
	var qe *client.QueryError
	if !errors.As(err, &qe) || qe.Code != publish.CodeInternal || qe.Message != "code 500" {
		t.Errorf("get: %v, expected a *QueryError with code 500", err)
	}
}

func TestGetGivesUpWhenContextEnds(t *testing.T) {
	c := newClient(t, func(cfg *client.Config) { cfg.SubjectPrefix = "nobody" })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.GetSessionState(ctx, "s1")
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("get without workers: %v, expected the deadline and the last error, no responders", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("get returned %s after a 300ms deadline", elapsed)
	}
}
