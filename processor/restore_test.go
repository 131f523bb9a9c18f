package processor_test

import (
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
)

// TestDeletedDataDirRestoresFromChangelog stops a worker, deletes its data
// directory and starts it again: it must restore the same state from the
// changelog, resume after the restored offsets, and keep an expired cart
// expired.
func TestDeletedDataDirRestoresFromChangelog(t *testing.T) {
	e := newEnv(t)
	states := e.collectStates("t1")
	e.start()

	var msgs []kafka.Message
	for _, s := range []string{"a", "b", "c", "d", "e", "f"} {
		msgs = append(msgs, e.sessionRecord("t1", s, "store-1"),
			e.event(s, map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": 2}),
			e.event(s, map[string]any{"eventType": "RATING", "int1": 4}),
			e.event(s, map[string]any{"eventType": "SEARCH", "str1": "shoes"}))
	}
	e.send(msgs...)
	waitFor(t, 30*time.Second, "all records applied", func() bool { return e.appliedEvents() == 18 && e.sessions.Load() == 6 })

	// Past 30 minutes the carts expire and the sweep writes that to the
	// changelog too.
	e.advance(30 * time.Minute)
	waitFor(t, 10*time.Second, "carts expired", func() bool {
		newest := map[string]*nats.Msg{}
		for _, m := range states.all() {
			if !strings.Contains(m.Subject, ".session.") {
				continue
			}
			if cur := newest[m.Subject]; cur == nil || version(t, m) > version(t, cur) {
				newest[m.Subject] = m
			}
		}
		for _, m := range newest {
			if strings.Contains(string(m.Data), `"p1"`) {
				return false
			}
		}
		return len(newest) == 6
	})
	e.stop()
	before := storedSessions(t, e.dataDir)
	if len(before) != 6 {
		t.Fatalf("%d sessions stored, want 6", len(before))
	}

	if err := os.RemoveAll(e.dataDir); err != nil {
		t.Fatal(err)
	}
	var restores atomic.Int64
	e.start(func(w *processor.Worker) {
		processor.SetHooks(w, processor.Hooks{OnRestoreDone: func(string, int) { restores.Add(1) }})
	})
	e.send(e.event("a", map[string]any{"eventType": "SEARCH", "str1": "boots"}))
	waitFor(t, 30*time.Second, "the new event applied", func() bool { return e.appliedEvents() == 19 })
	e.stop()

	if restores.Load() == 0 {
		t.Error("no partition was restored from the changelog")
	}
	after := storedSessions(t, e.dataDir)
	for key, s := range before {
		got := after[key]
		if got == nil {
			t.Errorf("%s not restored", key)
			continue
		}
		if key == "t1/a" {
			if !reflect.DeepEqual(got.Search, []string{"shoes", "boots"}) || got.Applied != s.Applied+1 {
				t.Errorf("session a after restore and one event: search %v applied %d (was %d)", got.Search, got.Applied, s.Applied)
			}
			continue
		}
		if !sameStored(t, s, got) {
			t.Errorf("%s restored differently:\n before %+v\n after  %+v", key, s, got)
		}
		if len(got.Cart) > 0 {
			t.Errorf("%s: the expired cart came back: %v", key, got.Cart)
		}
	}
}

func sameStored(t *testing.T, a, b *projection.Session) bool {
	t.Helper()
	x, err := projection.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := projection.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(x) == string(y)
}

// TestRestoreThroughSlowBroker restores from a broker that takes 300ms to
// start each changelog fetch response. The restore must still finish: a
// fetch deadline shorter than the broker's response time would make it
// retry the same offset forever.
func TestRestoreThroughSlowBroker(t *testing.T) {
	e := newEnv(t)
	e.start()
	var msgs []kafka.Message
	for _, s := range []string{"a", "b", "c", "d"} {
		msgs = append(msgs, e.sessionRecord("t1", s, "store-1"),
			e.event(s, map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": 1}))
	}
	e.send(msgs...)
	waitFor(t, 30*time.Second, "all records applied", func() bool { return e.appliedEvents() == 4 })
	e.stop()
	before := storedSessions(t, e.dataDir)
	if err := os.RemoveAll(e.dataDir); err != nil {
		t.Fatal(err)
	}

	cluster := e.kafka.Cluster()
	changelog := e.topics.SessionChangelog()
	cluster.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		for _, topic := range req.(*kmsg.FetchRequest).Topics {
			if topic.Topic == changelog {
				cluster.SleepControl(func() { time.Sleep(300 * time.Millisecond) })
				break
			}
		}
		return nil, nil, false
	})

	var restored atomic.Int64
	e.start(func(w *processor.Worker) {
		processor.SetHooks(w, processor.Hooks{OnResumed: func(stage string, _ int, _ map[string]int64) {
			if stage == "session" {
				restored.Add(1)
			}
		}})
	})
	waitFor(t, 30*time.Second, "the session partitions resumed", func() bool { return restored.Load() == testPartitions })
	e.stop()
	if after := storedSessions(t, e.dataDir); len(after) != len(before) {
		t.Errorf("%d sessions restored, want %d", len(after), len(before))
	}
}
