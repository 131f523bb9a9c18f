package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/access"
	"github.com/gridsession/gridsession/client"
	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/rees46"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/schemas"
)

// apiNow is the workers' clock in the Session API tests. The records are
// from ten minutes earlier, so carts live until 10:30 and ratings for a
// day, and the expiry instants in the expected replies are fixed.
var apiNow = time.Date(2026, 1, 2, 10, 10, 0, 0, time.UTC)

const apiEventTime = "2026-01-02T10:00:00Z"

// apiWait bounds every wait for a message or a state in these tests.
const apiWait = 30 * time.Second

// startQueryWorker runs a worker on the cluster's servers that serves gets
// over NATS and checks access keys, as gridsession run does, until the test
// ends. It uses the cluster's clock.
func startQueryWorker(t *testing.T, c *cluster) {
	t.Helper()
	log := zerolog.Nop()
	if os.Getenv("GRIDSESSION_TEST_LOG") != "" {
		log = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	}
	nc, err := nats.Connect(c.nc.ConnectedUrl())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	producer := ingest.NewProducer(c.brokers(), log)
	t.Cleanup(func() { producer.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	keys := access.NewRegistry(c.brokers(), c.topics, log)
	if err := keys.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	w, err := processor.New(processor.Config{
		Brokers:    c.brokers(),
		Topics:     c.topics,
		DataDir:    t.TempDir(),
		Projection: projection.Config{ContactKey: []byte("integration-contact-key")},
		NoSync:     true,
		Clock:      c.clock,
		Queries:    nc,
		Access:     keys,
		Log:        log,
	}, publish.New(nc), producer)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("query worker: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("query worker did not stop within 60s")
		}
		keys.Close()
	})
}

// newAPIClient returns a Session API client of tenant on the cluster's
// servers, closed when the test ends.
func newAPIClient(t *testing.T, c *cluster, tenant string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), apiWait)
	defer cancel()
	cl, err := client.New(ctx, client.Config{
		Brokers:     c.brokers(),
		NATSURL:     c.nc.ConnectedUrl(),
		Tenant:      tenant,
		Region:      "EU",
		TopicPrefix: c.topics.Prefix,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func apiContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), apiWait)
	t.Cleanup(cancel)
	return ctx
}

// assertJSON fails the test unless got, encoded as JSON, is the same
// document as want: the same members with the same values, in any order.
func assertJSON(t *testing.T, description string, got any, want string) {
	t.Helper()
	raw, ok := got.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(got); err != nil {
			t.Fatalf("%s: encode: %v", description, err)
		}
	}
	if canonical(t, raw) != canonical(t, []byte(want)) {
		t.Errorf("%s:\n got %s\nwant %s", description, raw, want)
	}
}

// canonical re-encodes a JSON document with sorted members.
func canonical(t *testing.T, doc []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", doc, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// collector receives the values of one subscription.
type collector[T any] struct {
	ch chan T
}

// collect subscribes sub, returned by a Create method with err, to a new
// collector. The subscription stops when the test ends.
func collect[T any](t *testing.T, sub *client.Subscription[T], err error) *collector[T] {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	col := &collector[T]{ch: make(chan T, 100)}
	if err := sub.Subscribe(func(v T) { col.ch <- v }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Stop)
	return col
}

// next returns the next value, or fails the test after apiWait.
func (col *collector[T]) next(t *testing.T, description string) T {
	t.Helper()
	select {
	case v := <-col.ch:
		return v
	case <-time.After(apiWait):
		t.Fatalf("no %s within %s", description, apiWait)
	}
	panic("unreachable")
}

// readRecord returns the value of the first record with key in the topic,
// reading the partition that murmur2 picks for key.
func readRecord(t *testing.T, c *cluster, topic, key string) []byte {
	t.Helper()
	ctx := apiContext(t)
	n, err := ingest.PartitionCount(ctx, c.brokers(), []string{topic})
	if err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: c.brokers(), Topic: topic, Partition: murmurPartition(key, n), MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond,
	})
	defer r.Close()
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read %s for key %q: %v", topic, key, err)
		}
		if string(m.Key) == key {
			return m.Value
		}
	}
}

func murmurPartition(key string, n int) int {
	partitions := make([]int, n)
	for i := range partitions {
		partitions[i] = i
	}
	return kafka.Murmur2Balancer{}.Balance(kafka.Message{Key: []byte(key)}, partitions...)
}

// waitSpaceKnown waits until the owner of a session has applied its
// session record. It sends the owner's space query directly, because no get
// of the Session API distinguishes a session without space from one whose
// record is not folded yet.
func waitSpaceKnown(t *testing.T, c *cluster, tenant, session string) {
	t.Helper()
	ctx := apiContext(t)
	n, err := ingest.PartitionCount(ctx, c.brokers(), []string{c.topics.Events()})
	if err != nil {
		t.Fatal(err)
	}
	subject := publish.Subjects{}.Query(publish.StageSession, murmurPartition(session, n), publish.OpSessionSpace)
	request, _ := json.Marshal(schemas.SessionRequest{TenantID: tenant, SessionID: session})
	deadline := time.Now().Add(apiWait)
	for {
		reply, err := c.nc.Request(subject, request, 2*time.Second)
		var answer schemas.SessionSpaceAnswer
		if err == nil && json.Unmarshal(reply.Data, &answer) == nil && answer.SpaceID != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s has no space after %s (last error %v)", session, apiWait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func int64p(v int64) *int64    { return &v }
func stringp(v string) *string { return &v }

var generatedCaptureID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// apiStep is one event of TestSessionAPIOperations and what each
// subscription must receive for it. An empty expectation means that the
// event changes nothing there.
type apiStep struct {
	event        schemas.Event
	eventJSON    string
	sessionState string
	spaceState   string
}

// Expected JSON of the space store-1 in TestSessionAPIOperations.
const (
	ratingAggregate = `"RATING":{"type":"number","value":{"min":4,"max":4,"mean":4,"length":1},"expiry":1767434400000,"created":"2026-01-02T10:00:00Z","updated":"2026-01-02T10:00:00Z"}`
	finalSpaceState = `{"CART":{"p1":{"quantity":1,"contacts":1},"p2":{"quantity":1,"contacts":1}},` + ratingAggregate + `}`
	finalSpaceRows  = `{"RATING":{"s1":{"value":4,"expiry":1767434400000,"updated":"2026-01-02T10:00:00Z"}},` +
		`"CART":{"s1":{"expiry":"2026-01-02T10:30:00Z","updated":"2026-01-02T10:00:00Z","value":{"p1":1,"p2":1}}}}`
)

// TestSessionAPIOperations runs the ten operations of the Session API
// against a worker on the cluster and compares every record written and
// every reply and message received, as JSON, with the whole document the
// API defines.
func TestSessionAPIOperations(t *testing.T) {
	c := newCluster(t)
	c.clock = func() time.Time { return apiNow }
	ctx := apiContext(t)
	// The key exists before the worker starts, which reads the keys topic
	// in full before it answers.
	user, password, err := access.Create(ctx, c.brokers(), c.topics, "shop", []string{"store-1"})
	if err != nil {
		t.Fatal(err)
	}
	startQueryWorker(t, c)
	api := newAPIClient(t, c, "shop")

	// sendClient: the record in Kafka is the Session API record with the
	// Config's tenant and region and a generated captureId.
	err = api.SendClient(ctx, schemas.Client{ClientID: "c1", ClientCreated: apiEventTime, ClientUserAgent: "Mozilla/5.0",
		Country: "DE", Latitude: ptrFloat(52.5), Longitude: ptrFloat(13.4), ClientScreenWidth: ptrFloat(1080)})
	if err != nil {
		t.Fatal(err)
	}
	var written map[string]any
	if err := json.Unmarshal(readRecord(t, c, c.topics.Clients(), "c1"), &written); err != nil {
		t.Fatal(err)
	}
	captureID, _ := written["captureId"].(string)
	if !generatedCaptureID.MatchString(captureID) {
		t.Errorf("client record has captureId %q, expected a generated UUID", captureID)
	}
	assertJSON(t, "client record", readRecord(t, c, c.topics.Clients(), "c1"),
		`{"tenantId":"shop","clientId":"c1","clientCreated":"2026-01-02T10:00:00Z","clientUserAgent":"Mozilla/5.0","dataResidency":"EU",`+
			`"country":"DE","latitude":52.5,"longitude":13.4,"clientScreenWidth":1080,"captureId":"`+captureID+`"}`)

	// sendSession
	err = api.SendSession(ctx, schemas.Session{SessionID: "s1", SessionCreated: apiEventTime, Environment: "production", Country: "DE",
		SpaceID: "store-1", AppID: "kiosk", AppVersion: "2.1", InstallationID: "i1", InstallationVersion: "7", DeviceID: "d1",
		ClientID: "c1", CaptureID: "session-1"})
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, "session record", readRecord(t, c, c.topics.Sessions(), "s1"),
		`{"tenantId":"shop","sessionId":"s1","sessionCreated":"2026-01-02T10:00:00Z","environment":"production","dataResidency":"EU",`+
			`"country":"DE","spaceId":"store-1","appId":"kiosk","appVersion":"2.1","installationId":"i1","installationVersion":"7",`+
			`"deviceId":"d1","clientId":"c1","captureId":"session-1"}`)
	waitSpaceKnown(t, c, "shop", "s1")

	// The four subscriptions, before the events they receive.
	sessionStateSub, err := api.CreateSessionStateSubscription(ctx, "s1")
	sessionStates := collect(t, sessionStateSub, err)
	sessionEventSub, err := api.CreateSessionEventSubscription(ctx, "s1")
	sessionEvents := collect(t, sessionEventSub, err)
	spaceStateSub, err := api.CreateSpaceStateSubscription(ctx, user, password, "store-1")
	spaceStates := collect(t, spaceStateSub, err)
	spaceEventSub, err := api.CreateSpaceEventSubscription(ctx, user, password, "store-1")
	spaceEvents := collect(t, spaceEventSub, err)

	// sendEvent, one event at a time, so that every change reaches every
	// subscription before the next event is sent.
	eventJSON := func(captureID string, interaction bool, fields string) string {
		return fmt.Sprintf(`{"captureId":%q,"clientId":"c1","dataResidency":"EU","eventTime":"2026-01-02T10:00:00Z",`+
			`"interaction":%t,"ip":"","sessionId":"s1","tenantId":"shop",%s}`, captureID, interaction, fields)
	}
	steps := []apiStep{
		{
			event:        schemas.Event{CaptureID: "e1", EventType: schemas.EventCartAdd, ProductID: "p1", Int1: int64p(2)},
			eventJSON:    eventJSON("e1", false, `"eventType":"CART_ADD","productId":"p1","int1":2`),
			sessionState: `{"CART":{"p1":2},"SEARCH":[]}`,
			spaceState:   `{"CART":{"p1":{"quantity":2,"contacts":1}}}`,
		},
		{
			event:        schemas.Event{CaptureID: "e2", EventType: schemas.EventSearch, Str1: stringp("red shoes")},
			eventJSON:    eventJSON("e2", false, `"eventType":"SEARCH","productId":"","str1":"red shoes"`),
			sessionState: `{"CART":{"p1":2},"SEARCH":["red shoes"]}`,
		},
		{
			event:        schemas.Event{CaptureID: "e3", EventType: schemas.EventCartAdd, ProductID: "p2", Interaction: true},
			eventJSON:    eventJSON("e3", true, `"eventType":"CART_ADD","productId":"p2"`),
			sessionState: `{"CART":{"p1":2,"p2":1},"SEARCH":["red shoes"]}`,
			spaceState:   `{"CART":{"p1":{"quantity":2,"contacts":1},"p2":{"quantity":1,"contacts":1}}}`,
		},
		{
			event:      schemas.Event{CaptureID: "e4", EventType: schemas.EventRating, Int1: int64p(4)},
			eventJSON:  eventJSON("e4", false, `"eventType":"RATING","productId":"","int1":4`),
			spaceState: `{"CART":{"p1":{"quantity":2,"contacts":1},"p2":{"quantity":1,"contacts":1}},` + ratingAggregate + `}`,
		},
		{
			event:        schemas.Event{CaptureID: "e5", EventType: schemas.EventCartRemove, ProductID: "p1", Int1: int64p(1)},
			eventJSON:    eventJSON("e5", false, `"eventType":"CART_REMOVE","productId":"p1","int1":1`),
			sessionState: `{"CART":{"p1":1,"p2":1},"SEARCH":["red shoes"]}`,
			spaceState:   finalSpaceState,
		},
	}
	for _, step := range steps {
		e := step.event
		e.SessionID, e.ClientID, e.EventTime = "s1", "c1", apiEventTime
		if err := api.SendEvent(ctx, e); err != nil {
			t.Fatalf("send event %s: %v", e.CaptureID, err)
		}
		assertJSON(t, "session event "+e.CaptureID, sessionEvents.next(t, "session event"), step.eventJSON)
		assertJSON(t, "space event "+e.CaptureID, spaceEvents.next(t, "space event"), step.eventJSON)
		if step.sessionState != "" {
			assertJSON(t, "session state after "+e.CaptureID, sessionStates.next(t, "session state"), step.sessionState)
		}
		if step.spaceState != "" {
			assertJSON(t, "space state after "+e.CaptureID, spaceStates.next(t, "space state"), step.spaceState)
		}
	}
	assertJSON(t, "first event record", readRecord(t, c, c.topics.Events(), "s1"), steps[0].eventJSON)

	// The four gets.
	session, err := api.GetSessionState(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, "getSessionState", session, `{"session":{"CART":{"p1":1,"p2":1},"SEARCH":["red shoes"]}}`)
	space, err := api.GetSpaceState(ctx, user, password, "s1")
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, "getSpaceState", space, finalSpaceState)
	rows, err := api.GetSpaceStateRows(ctx, user, password, "s1")
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, "getSpaceStateRows", rows, finalSpaceRows)
	space, err = api.GetSpaceStateBySpace(ctx, user, password, "store-1")
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, "getSpaceState by space", space, finalSpaceState)
	rows, err = api.GetSpaceStateRowsBySpace(ctx, user, password, "store-1")
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, "getSpaceStateRows by space", rows, finalSpaceRows)

	// Nothing reaches a callback after Stop: a raw subscriber shows when
	// the messages of a later event have been published.
	witness, err := c.nc.SubscribeSync(publish.Subjects{}.Tenant("shop"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	sessionStateSub.Stop()
	sessionEventSub.Stop()
	spaceStateSub.Stop()
	spaceEventSub.Stop()
	err = api.SendEvent(ctx, schemas.Event{SessionID: "s1", ClientID: "c1", EventTime: apiEventTime, EventType: schemas.EventCartAdd, ProductID: "p3"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for len(seen) < 4 {
		m, err := witness.NextMsg(apiWait)
		if err != nil {
			t.Fatalf("published after Stop: %v, saw %v", err, seen)
		}
		seen[m.Subject] = true
	}
	for name, ch := range map[string]int{"session state": len(sessionStates.ch), "session event": len(sessionEvents.ch),
		"space state": len(spaceStates.ch), "space event": len(spaceEvents.ch)} {
		if ch != 0 {
			t.Errorf("%d %s messages arrived after Stop", ch, name)
		}
	}
}

func ptrFloat(v float64) *float64 { return &v }

// TestGetsOfAnotherTenantAreEmpty checks that the ids of tenant shop
// return nothing to a client of tenant other, even with other's own key.
func TestGetsOfAnotherTenantAreEmpty(t *testing.T) {
	c := newCluster(t)
	c.clock = func() time.Time { return apiNow }
	ctx := apiContext(t)
	otherUser, otherPassword, err := access.Create(ctx, c.brokers(), c.topics, "other", nil)
	if err != nil {
		t.Fatal(err)
	}
	startQueryWorker(t, c)
	shop := newAPIClient(t, c, "shop")
	other := newAPIClient(t, c, "other")

	err = shop.SendSession(ctx, schemas.Session{SessionID: "s1", SessionCreated: apiEventTime, Environment: "1", Country: "DE",
		SpaceID: "store-1", AppID: "a", AppVersion: "1", InstallationID: "i", InstallationVersion: "1", DeviceID: "d", ClientID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	err = shop.SendEvent(ctx, schemas.Event{SessionID: "s1", ClientID: "c1", EventTime: apiEventTime, EventType: schemas.EventCartAdd, ProductID: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the cart of shop's session", func() bool {
		answer, err := shop.GetSessionState(ctx, "s1")
		return err == nil && answer.Session.Cart["p1"] == 1
	})

	session, err := other.GetSessionState(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, "other tenant's getSessionState", session, `{"session":{"CART":{},"SEARCH":[]}}`)
	space, err := other.GetSpaceState(ctx, otherUser, otherPassword, "s1")
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, "other tenant's getSpaceState", space, `{"CART":{}}`)
	space, err = other.GetSpaceStateBySpace(ctx, otherUser, otherPassword, "store-1")
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, "other tenant's getSpaceState by space", space, `{"CART":{}}`)
	rows, err := other.GetSpaceStateRowsBySpace(ctx, otherUser, otherPassword, "store-1")
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, "other tenant's getSpaceStateRows by space", rows, `{"RATING":{},"CART":{}}`)
}

// TestSpaceReadsCheckKeys checks that space gets and space subscriptions
// reject wrong, revoked and other tenants' keys and keys of other spaces,
// and rate-limit repeated failures.
func TestSpaceReadsCheckKeys(t *testing.T) {
	c := newCluster(t)
	startQueryWorker(t, c)
	ctx := apiContext(t)
	api := newAPIClient(t, c, "shop")
	createKey := func(tenant string, spaces ...string) (string, string) {
		t.Helper()
		user, password, err := access.Create(ctx, c.brokers(), c.topics, tenant, spaces)
		if err != nil {
			t.Fatal(err)
		}
		return user, password
	}

	// The other tenant's key goes first: the keys topic has one partition,
	// so once the worker has read the second key it has read both.
	otherUser, otherPassword := createKey("other")
	user, password := createKey("shop", "store-1")
	waitUntil(t, "the worker to read the new key", func() bool {
		_, err := api.GetSpaceStateBySpace(ctx, user, password, "store-1")
		return err == nil
	})
	if _, err := api.GetSpaceStateBySpace(ctx, user, password, "store-2"); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("get of a space the key does not list: %v, expected ErrForbidden", err)
	}
	if _, err := api.CreateSpaceEventSubscription(ctx, user, password, "store-2"); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("subscription to a space the key does not list: %v, expected ErrForbidden", err)
	}
	if _, err := api.GetSpaceStateRowsBySpace(ctx, user, password+"x", "store-1"); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("get with a wrong access key: %v, expected ErrUnauthorized", err)
	}
	if _, err := api.GetSpaceStateBySpace(ctx, "b-nosuchbrowserid0000", password, "store-1"); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("get with an unknown browser id: %v, expected ErrUnauthorized", err)
	}

	if _, err := api.GetSpaceStateBySpace(ctx, otherUser, otherPassword, "store-1"); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("get with another tenant's key: %v, expected ErrForbidden", err)
	}
	if _, err := api.CreateSpaceStateSubscription(ctx, otherUser, otherPassword, "store-1"); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("subscription with another tenant's key: %v, expected ErrForbidden", err)
	}

	if _, err := access.Revoke(ctx, c.brokers(), c.topics, user); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the worker to reject the revoked key", func() bool {
		_, err := api.GetSpaceStateBySpace(ctx, user, password, "store-1")
		return errors.Is(err, client.ErrUnauthorized)
	})
	if _, err := api.CreateSpaceStateSubscription(ctx, user, password, "store-1"); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("subscription with a revoked key: %v, expected ErrUnauthorized", err)
	}

	limitedUser, limitedPassword := createKey("shop")
	var err error
	for attempt := 1; attempt <= access.DefaultMaxFailures+1; attempt++ {
		_, err = api.GetSpaceStateBySpace(ctx, limitedUser, "wrong", "store-1")
	}
	if !errors.Is(err, client.ErrRateLimited) {
		t.Errorf("get after %d failures: %v, expected ErrRateLimited", access.DefaultMaxFailures, err)
	}
	if _, err := api.GetSpaceStateBySpace(ctx, limitedUser, limitedPassword, "store-1"); !errors.Is(err, client.ErrRateLimited) {
		t.Errorf("get with the right key while rate-limited: %v, expected ErrRateLimited", err)
	}
}

// TestGetWaitsForOwner starts the client's get before any worker runs:
// the get retries until the worker owns the session's partition.
func TestGetWaitsForOwner(t *testing.T) {
	c := newCluster(t)
	api := newAPIClient(t, c, "shop")
	ctx := apiContext(t)
	err := api.SendEvent(ctx, schemas.Event{SessionID: "s1", ClientID: "c1", EventTime: time.Now().UTC().Format(time.RFC3339),
		EventType: schemas.EventSearch, Str1: stringp("lamp")})
	if err != nil {
		t.Fatal(err)
	}

	type result struct {
		answer schemas.SessionStateAnswer
		err    error
	}
	got := make(chan result, 1)
	go func() {
		answer, err := api.GetSessionState(ctx, "s1")
		got <- result{answer, err}
	}()
	time.Sleep(300 * time.Millisecond) // the get meets no responders first
	startQueryWorker(t, c)

	select {
	case r := <-got:
		if r.err != nil {
			t.Fatal(r.err)
		}
		// The worker may reply before it has folded the event, so either
		// state is correct.
		if s := r.answer.Session.Search; len(s) > 1 || len(s) == 1 && s[0] != "lamp" {
			t.Errorf("answer %+v, expected no search or [lamp]", r.answer)
		}
	case <-time.After(apiWait):
		t.Fatal("get did not return within 30s of the worker's start")
	}
}

// waitFor polls cond until it holds, and fails the test after apiWait.
func waitUntil(t *testing.T, description string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(apiWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", apiWait, description)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// getAll returns the session state of every id, with eight gets in
// flight at a time.
func getAll(t *testing.T, api *client.Client, ids []string) map[string]schemas.SessionState {
	t.Helper()
	ctx := apiContext(t)
	out := make(map[string]schemas.SessionState, len(ids))
	var mu sync.Mutex
	var firstErr error
	work := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for id := range work {
				answer, err := api.GetSessionState(ctx, id)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("get %s: %w", id, err)
				}
				out[id] = answer.Session
				mu.Unlock()
			}
		})
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return out
}

// TestGetSessionStateOfRealFile loads the multi-category sample file with
// its times rebased so that its last row falls on a fixed time, and sets
// the workers' clock to that time once the file is folded. It compares
// every session's cart from GetSessionState with a fold of the CSV rows
// written here, in which a cart whose last change is 30 minutes or more
// before the clock has expired and is empty. It then moves the clock 20
// minutes on, which expires most of the file's carts, and compares again.
func TestGetSessionStateOfRealFile(t *testing.T) {
	dir, err := rees46.FindSampleDir()
	if err != nil {
		t.Skipf("REES46 samples not found (set %s): %v", rees46.SampleDirEnv, err)
	}
	files := rees46.MulticategoryPaths(dir)
	// The file's end is before the time the records are sent, so no event
	// time runs ahead of its Kafka timestamp and none is clamped. While the
	// worker folds the file, its clock is set a day before the file's
	// rows: a clock at the end would let the expiry sweep remove a cart
	// between two batches of its session's rows, which the fold of the
	// rows by event time does not do.
	end := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(end.Add(-24 * time.Hour).UnixMilli())

	c := newCluster(t)
	c.clock = func() time.Time { return time.UnixMilli(clock.Load()).UTC() }
	startQueryWorker(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	summary, err := rees46.Load(ctx, files, rees46.LoadOptions{Brokers: c.brokers(), Topics: c.topics, Scan: rees46.Options{RebaseTo: end}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	c.waitNoLag(processor.DefaultGroupID, c.topics.Inputs())
	api := newAPIClient(t, c, rees46.DefaultTenant)

	for _, now := range []time.Time{end, end.Add(20 * time.Minute)} {
		clock.Store(now.UnixMilli())
		want := foldLiveCarts(t, files, summary.Shift, now)
		ids := make([]string, 0, len(want))
		for id := range want {
			ids = append(ids, id)
		}
		got := getAll(t, api, ids)

		live, expired, mismatches := 0, 0, 0
		for id, cart := range want {
			wantCart := map[string]int64{}
			switch {
			case cart.live:
				live++
				wantCart = cart.products
			case len(cart.products) > 0:
				expired++
			}
			if !maps.Equal(got[id].Cart, wantCart) {
				mismatches++
				if mismatches <= 10 {
					t.Errorf("at %s session %s has cart %v, the rows give %v (last change %s)", now.Format(time.RFC3339), id,
						got[id].Cart, wantCart, cart.lastChange.Format(time.RFC3339))
				}
			}
		}
		if mismatches > 10 {
			t.Errorf("at %s %d of %d sessions differ", now.Format(time.RFC3339), mismatches, len(want))
		}
		t.Logf("at %s: %d sessions compared, %d live carts, %d expired carts", now.Format(time.RFC3339), len(want), live, expired)
		if live == 0 || expired == 0 {
			t.Errorf("at %s the rows give no live or no expired cart: the comparison proves little", now.Format(time.RFC3339))
		}
	}
}

// foldedCart is one session's cart as the CSV rows give it.
type foldedCart struct {
	products map[string]int64
	// lastChange is the rebased time of the last row that changed the
	// cart.
	lastChange time.Time
	live       bool
}

// foldLiveCarts folds the rows of files by session, with every time moved
// by shift: cart adds one, remove_from_cart takes one away and drops the
// product at zero, purchase empties the cart. A cart is live at now when
// its last change is less than 30 minutes before now.
func foldLiveCarts(t *testing.T, files []string, shift time.Duration, now time.Time) map[string]*foldedCart {
	t.Helper()
	carts := map[string]*foldedCart{}
	eachRow(t, files, func(row map[string]string) {
		at, err := time.Parse("2006-01-02 15:04:05 MST", row["event_time"])
		if err != nil {
			t.Fatal(err)
		}
		id := row["user_session"]
		cart := carts[id]
		if cart == nil {
			cart = &foldedCart{products: map[string]int64{}}
			carts[id] = cart
		}
		product := row["product_id"]
		before := maps.Clone(cart.products)
		switch row["event_type"] {
		case "cart":
			cart.products[product]++
		case "remove_from_cart":
			if cart.products[product] <= 1 {
				delete(cart.products, product)
			} else {
				cart.products[product]--
			}
		case "purchase":
			clear(cart.products)
		}
		if changed := at.Add(shift); !maps.Equal(before, cart.products) && changed.After(cart.lastChange) {
			cart.lastChange = changed
		}
	})
	for _, cart := range carts {
		cart.live = len(cart.products) > 0 && cart.lastChange.Add(30*time.Minute).After(now)
	}
	return carts
}
