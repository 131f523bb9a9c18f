package processor_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/schemas"
)

// lastSpaceState decodes the newest message of c as space state.
func lastSpaceState(t *testing.T, c *collector) (schemas.SpaceState, uint64, bool) {
	t.Helper()
	msgs := c.all()
	if len(msgs) == 0 {
		return schemas.SpaceState{}, 0, false
	}
	m := newest(t, msgs)
	var s schemas.SpaceState
	if err := json.Unmarshal(m.Data, &s); err != nil {
		t.Fatalf("space state %s: %v", m.Data, err)
	}
	return s, version(t, m), true
}

// newest returns the message with the highest version: NATS may deliver
// messages of one subject from two publishers out of order.
func newest(t *testing.T, msgs []*nats.Msg) *nats.Msg {
	best := msgs[0]
	for _, m := range msgs[1:] {
		if version(t, m) > version(t, best) {
			best = m
		}
	}
	return best
}

func waitSpace(t *testing.T, c *collector, what string, cond func(schemas.SpaceState) bool) (schemas.SpaceState, uint64) {
	t.Helper()
	var s schemas.SpaceState
	var v uint64
	waitFor(t, 30*time.Second, what, func() bool {
		var ok bool
		s, v, ok = lastSpaceState(t, c)
		return ok && cond(s)
	})
	return s, v
}

func TestSpaceSumsCartsAndCountsContacts(t *testing.T) {
	e := newEnv(t)
	two := e.collect(e.subjects.SpaceState("t1", "store-1"))
	same := e.collect(e.subjects.SpaceState("t1", "store-2"))
	e.start()

	e.send(e.sessionRecord("t1", "a", "store-1"), e.sessionRecord("t1", "b", "store-1"),
		e.sessionRecord("t1", "c", "store-2"), e.sessionRecord("t1", "d", "store-2"))
	waitFor(t, 30*time.Second, "session records", func() bool { return e.sessions.Load() == 4 })
	e.send(
		e.event("a", map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": 2}),
		e.event("b", map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": 3}),
		e.event("c", map[string]any{"eventType": "CONTACT_IDENTIFY", "str1": "EMAIL", "str2": "ann@example.com"}),
		e.event("d", map[string]any{"eventType": "CONTACT_IDENTIFY", "str1": "EMAIL", "str2": "ann@example.com"}),
		e.event("c", map[string]any{"eventType": "CART_ADD", "productId": "p1"}),
		e.event("d", map[string]any{"eventType": "CART_ADD", "productId": "p1"}),
	)

	waitSpace(t, two, "two sessions holding p1", func(s schemas.SpaceState) bool {
		return s.Cart["p1"] == schemas.ProductTotal{Quantity: 5, Contacts: 2}
	})
	waitSpace(t, same, "one person holding p1 in two sessions", func(s schemas.SpaceState) bool {
		return s.Cart["p1"] == schemas.ProductTotal{Quantity: 2, Contacts: 1}
	})
}

func TestSpaceRatingsAggregateAndExpire(t *testing.T) {
	e := newEnv(t)
	states := e.collect(e.subjects.SpaceState("t1", "store-1"))
	e.start()

	for _, s := range []string{"a", "b", "c"} {
		e.send(e.sessionRecord("t1", s, "store-1"))
	}
	waitFor(t, 30*time.Second, "session records", func() bool { return e.sessions.Load() == 3 })
	e.send(
		e.event("a", map[string]any{"eventType": "RATING", "int1": 2}),
		e.event("b", map[string]any{"eventType": "RATING", "int1": 4}),
		e.event("c", map[string]any{"eventType": "RATING", "int1": 5}),
	)

	got, before := waitSpace(t, states, "three ratings", func(s schemas.SpaceState) bool {
		return s.Numbers["RATING"].Value.Length == 3
	})
	r := got.Numbers["RATING"]
	if r.Type != "number" || r.Value.Min != 2 || r.Value.Max != 5 || math.Abs(r.Value.Mean-3.6667) > 0.0001 {
		t.Errorf("RATING = %+v, want min 2, max 5, mean 3.6667", r)
	}
	wantExpiry := time.Date(2026, 1, 3, 10, 0, 0, 0, time.UTC).UnixMilli()
	if r.Expiry != wantExpiry || r.Created != "2026-01-02T10:00:00Z" || r.Updated != "2026-01-02T10:00:00Z" {
		t.Errorf("RATING expiry %d created %q updated %q, want expiry %d", r.Expiry, r.Created, r.Updated, wantExpiry)
	}

	// Past the 24 hour rating lifetime the sweep drops the ratings and
	// publishes the change.
	e.advance(24 * time.Hour)
	_, after := waitSpace(t, states, "ratings expired", func(s schemas.SpaceState) bool {
		_, ok := s.Numbers["RATING"]
		return !ok
	})
	if after <= before {
		t.Errorf("version %d after expiry, %d before: it must grow", after, before)
	}
}

func TestCartExpiresAfterThirtyMinutes(t *testing.T) {
	e := newEnv(t)
	sessionStates := e.collect(e.subjects.SessionState("t1", "a"))
	spaceStates := e.collect(e.subjects.SpaceState("t1", "store-1"))
	e.start()

	e.send(e.sessionRecord("t1", "a", "store-1"))
	waitFor(t, 30*time.Second, "session record", func() bool { return e.sessions.Load() == 1 })
	e.send(e.event("a", map[string]any{"eventType": "CART_ADD", "productId": "p1"}))
	waitSpace(t, spaceStates, "p1 in the space cart", func(s schemas.SpaceState) bool { return s.Cart["p1"].Quantity == 1 })

	// The event time is 10:00 and the clock 10:05: at 10:29 the cart
	// lives, at 10:30 it expires.
	e.advance(24 * time.Minute)
	time.Sleep(300 * time.Millisecond) // several sweeps at the 50ms interval
	if s, _, _ := lastSpaceState(t, spaceStates); s.Cart["p1"].Quantity != 1 {
		t.Fatalf("cart expired before 30 minutes: %+v", s.Cart)
	}
	e.advance(time.Minute)
	waitSpace(t, spaceStates, "space cart emptied", func(s schemas.SpaceState) bool { return len(s.Cart) == 0 })
	waitFor(t, 10*time.Second, "session cart emptied", func() bool {
		msgs := sessionStates.all()
		if len(msgs) == 0 {
			return false
		}
		var s schemas.SessionState
		return json.Unmarshal(newest(t, msgs).Data, &s) == nil && len(s.Cart) == 0
	})
}

func TestSpaceIgnoresRepeatedAndStaleContributions(t *testing.T) {
	e := newEnv(t)
	states := e.collect(e.subjects.SpaceState("t1", "store-1"))
	e.start()

	contribution := func(session string, version uint64, quantity int64) kafka.Message {
		c := projection.Contribution{
			Tenant: "t1", Space: "store-1", Session: session, Version: version, Contact: "s:" + session,
			Cart: map[string]int64{"p1": quantity}, CartUpdated: testNow.UnixMilli(), CartExpiry: testNow.Add(time.Hour).UnixMilli(),
		}
		return e.raw(e.topics.SpaceUpdates(), ingest.SpaceKey("t1", "store-1"), c)
	}
	// Newest versions first, then older and repeated ones: the newest of
	// each session must win whatever follows.
	e.send(contribution("a", 3<<16, 7), contribution("b", 2<<16, 1))
	e.send(contribution("a", 1<<16, 100), contribution("a", 3<<16, 50), contribution("b", 1<<16, 100), contribution("a", 2<<16, 100))
	e.send(contribution("c", 1<<16, 2))

	waitSpace(t, states, "session c applied", func(s schemas.SpaceState) bool { return s.Cart["p1"].Contacts == 3 })
	got, _, _ := lastSpaceState(t, states)
	if got.Cart["p1"].Quantity != 7+1+2 {
		t.Errorf("space cart p1 = %+v, want quantity 10 from the newest contributions", got.Cart["p1"])
	}
}

func TestSpacesOfTwoTenantsNeverMix(t *testing.T) {
	e := newEnv(t)
	t1 := e.collect(e.subjects.SpaceState("t1", "store-1"))
	t2 := e.collect(e.subjects.SpaceState("t2", "store-1"))
	e.start()

	e.send(e.sessionRecord("t1", "a", "store-1"), e.sessionRecord("t2", "a", "store-1"))
	waitFor(t, 30*time.Second, "session records", func() bool { return e.sessions.Load() == 2 })
	e.send(e.event("a", map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": 4}))
	e.send(e.raw(e.topics.Events(), "a", map[string]any{
		"tenantId": "t2", "eventTime": "2026-01-02T10:00:00Z", "dataResidency": "EU",
		"sessionId": "a", "clientId": "c1", "eventType": "CART_ADD", "productId": "p9",
	}))

	s1, _ := waitSpace(t, t1, "tenant t1 space", func(s schemas.SpaceState) bool { return len(s.Cart) > 0 })
	s2, _ := waitSpace(t, t2, "tenant t2 space", func(s schemas.SpaceState) bool { return len(s.Cart) > 0 })
	if len(s1.Cart) != 1 || s1.Cart["p1"].Quantity != 4 {
		t.Errorf("tenant t1 space cart %+v, want only p1 x4", s1.Cart)
	}
	if len(s2.Cart) != 1 || s2.Cart["p9"].Quantity != 1 {
		t.Errorf("tenant t2 space cart %+v, want only p9 x1", s2.Cart)
	}
}
