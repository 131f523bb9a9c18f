package processor_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/schemas"
)

func TestWorkerFoldsRecordsIntoStateAndNATS(t *testing.T) {
	e := newEnv(t)
	states := e.collect(e.subjects.SessionState("t1", "s1"))
	events := e.collect(e.subjects.SessionEvents("t1", "s1"))
	spaceEvents := e.collect(e.subjects.SpaceEvents("t1", "store-1"))
	e.start()

	// The session record comes first so that every event already has
	// its space, because records of two topics have no order between them.
	e.send(e.sessionRecord("t1", "s1", "store-1"))
	waitFor(t, 30*time.Second, "the session record", func() bool { return e.sessions.Load() == 1 })
	e.send(
		e.event("s1", map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": 2, "captureId": "a1"}),
		e.event("s1", map[string]any{"eventType": "SEARCH", "str1": "shoes", "captureId": "a2"}),
		e.event("s1", map[string]any{"eventType": "CART_ADD", "productId": "p2", "captureId": "a3"}),
		e.event("s1", map[string]any{"eventType": "CART_REMOVE", "productId": "p1", "int1": 1, "captureId": "a4"}),
		e.event("s1", map[string]any{"eventType": "PRODUCT_VIEW", "productId": "p9", "captureId": "a5"}),
	)

	waitFor(t, 30*time.Second, "5 raw events", func() bool { return events.len() == 5 })
	waitFor(t, 10*time.Second, "4 state messages", func() bool { return states.len() == 4 })

	msgs := states.all()
	var last uint64
	for _, m := range msgs {
		v := version(t, m)
		if v <= last {
			t.Errorf("version %d after %d: versions must grow", v, last)
		}
		last = v
	}
	var got schemas.SessionState
	if err := json.Unmarshal(msgs[len(msgs)-1].Data, &got); err != nil {
		t.Fatal(err)
	}
	want := schemas.SessionState{Cart: map[string]int64{"p1": 1, "p2": 1}, Search: []string{"shoes"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("last state message = %+v, want %+v", got, want)
	}

	var raw map[string]any
	if err := json.Unmarshal(events.all()[0].Data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"captureId", "clientId", "dataResidency", "eventTime", "eventType", "interaction", "ip", "productId", "sessionId", "tenantId"} {
		if _, ok := raw[field]; !ok {
			t.Errorf("raw event lacks %q: %v", field, raw)
		}
	}
	waitFor(t, 10*time.Second, "space events", func() bool { return spaceEvents.len() == 5 })

	e.stop()
	stored := storedSessions(t, e.dataDir)["t1/s1"]
	if stored == nil {
		t.Fatal("session t1/s1 not in Pebble")
	}
	if !reflect.DeepEqual(stored.View(), want) {
		t.Errorf("Pebble state = %+v, want %+v", stored.View(), want)
	}
	if stored.SpaceID != "store-1" || !stored.Known {
		t.Errorf("Pebble session space = %q known=%v, want store-1", stored.SpaceID, stored.Known)
	}
	if stored.Version != last {
		t.Errorf("Pebble version %d, last published %d", stored.Version, last)
	}
}

func TestRestartBeforeKafkaCommitAppliesNothingTwice(t *testing.T) {
	e := newEnv(t)
	states := e.collectStates("t1")
	e.start(func(w *processor.Worker) { w.SetSkipKafkaCommit(true) })

	var msgs []kafka.Message
	for i, s := range []string{"a", "b", "c", "d", "e", "f"} {
		msgs = append(msgs,
			e.event(s, map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": i + 1}),
			e.event(s, map[string]any{"eventType": "CART_ADD", "productId": "p2"}),
		)
	}
	e.send(msgs...)
	waitFor(t, 30*time.Second, "12 state messages", func() bool { return states.len() == 12 })
	e.stop()
	before := storedSessions(t, e.dataDir)

	// Kafka holds no committed offsets, so only Pebble's offsets keep the
	// second run from folding the same records again.
	e.start()
	e.send(e.event("a", map[string]any{"eventType": "CART_ADD", "productId": "p3"}))
	waitFor(t, 30*time.Second, "the new record's state message", func() bool { return states.len() == 13 })
	time.Sleep(500 * time.Millisecond) // a double fold would publish more
	if n := states.len(); n != 13 {
		t.Errorf("%d state messages after restart, want 13: records were folded twice", n)
	}
	e.stop()

	after := storedSessions(t, e.dataDir)
	for key, s := range before {
		a := after[key]
		if key == "t1/a" {
			if a.Cart["p1"] != 1 || a.Cart["p3"] != 1 || a.Version != s.Version+1 {
				t.Errorf("session a after restart: cart %v version %d (was %d)", a.Cart, a.Version, s.Version)
			}
			continue
		}
		if !reflect.DeepEqual(a.View(), s.View()) || a.Version != s.Version {
			t.Errorf("session %s changed across restart: %+v v%d -> %+v v%d", key, s.View(), s.Version, a.View(), a.Version)
		}
	}
}

func TestOrderAndDuplicatesGiveSameState(t *testing.T) {
	e := newEnv(t)
	e.start()

	events := func(session string) []kafka.Message {
		return []kafka.Message{
			e.event(session, map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": 3, "captureId": session + "-1"}),
			e.event(session, map[string]any{"eventType": "CART_REMOVE", "productId": "p1", "int1": 1, "captureId": session + "-2"}),
			e.event(session, map[string]any{"eventType": "SEARCH", "str1": "red shoes", "captureId": session + "-3"}),
		}
	}
	// Session "inorder": session record first. "late": events first.
	// "dup": everything twice, as when a file is loaded twice.
	e.send(e.sessionRecord("t1", "inorder", "store-1"))
	e.send(events("inorder")...)
	e.send(events("late")...)
	e.send(e.sessionRecord("t1", "late", "store-1"))
	e.send(e.sessionRecord("t1", "dup", "store-1"))
	e.send(events("dup")...)
	e.send(e.sessionRecord("t1", "dup", "store-1"))
	e.send(events("dup")...)

	want := schemas.SessionState{Cart: map[string]int64{"p1": 2}, Search: []string{"red shoes"}}
	waitFor(t, 30*time.Second, "all three sessions folded", func() bool {
		return e.appliedEvents() >= 12
	})
	e.stop()

	stored := storedSessions(t, e.dataDir)
	for _, id := range []string{"inorder", "late", "dup"} {
		s := stored["t1/"+id]
		if s == nil {
			t.Fatalf("session %s missing", id)
		}
		if !reflect.DeepEqual(s.View(), want) {
			t.Errorf("session %s = %+v, want %+v", id, s.View(), want)
		}
		if !s.Known || s.SpaceID != "store-1" {
			t.Errorf("session %s space %q known=%v", id, s.SpaceID, s.Known)
		}
	}
	if stored["t1/dup"].Version != stored["t1/inorder"].Version {
		t.Errorf("duplicate records moved the version: %d vs %d", stored["t1/dup"].Version, stored["t1/inorder"].Version)
	}
}

func TestTenantsNeverMix(t *testing.T) {
	e := newEnv(t)
	other := e.collect(e.subjects.Tenant("t2"))
	e.start()

	e.send(e.event("s1", map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": 5}))
	e.send(e.raw(e.topics.Events(), "s1", map[string]any{
		"tenantId": "t2", "eventTime": "2026-01-02T10:00:00Z", "dataResidency": "EU",
		"sessionId": "s1", "clientId": "c1", "eventType": "CART_ADD", "productId": "p7",
	}))
	waitFor(t, 30*time.Second, "two events applied", func() bool { return e.appliedEvents() >= 2 })
	e.stop()

	stored := storedSessions(t, e.dataDir)
	if got := stored["t1/s1"].Cart; !reflect.DeepEqual(got, map[string]int64{"p1": 5}) {
		t.Errorf("tenant t1 cart %v", got)
	}
	if got := stored["t2/s1"].Cart; !reflect.DeepEqual(got, map[string]int64{"p7": 1}) {
		t.Errorf("tenant t2 cart %v", got)
	}
	for _, m := range other.all() {
		if strings.Contains(string(m.Data), `"t1"`) {
			t.Errorf("tenant t2 subject %s got a t1 message: %s", m.Subject, m.Data)
		}
	}
}
