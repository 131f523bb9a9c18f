package processor_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
)

// TestHugeKeyDoesNotStallPartition sends a record whose key is over 1 MB:
// its dead letter must fit the broker's limit and the records after it on
// the same partition must apply.
func TestHugeKeyDoesNotStallPartition(t *testing.T) {
	e := newEnv(t)
	e.start()

	huge := strings.Repeat("K", 1_100_000)
	bad := e.event("s1", nil)
	bad.Key = []byte(huge)
	// The huge key hashes to some partition; valid sessions on every
	// partition follow it.
	var msgs []kafka.Message
	for i := range 16 {
		msgs = append(msgs, e.event(fmt.Sprintf("v%d", i), map[string]any{"eventType": "CART_ADD", "productId": "p1"}))
	}
	e.send(bad)
	e.send(msgs...)

	waitFor(t, 30*time.Second, "the bad record rejected and 16 applied", func() bool {
		return e.rejected.Load() == 1 && e.appliedEvents() == 16
	})
	e.stop()
	dead := readDeadLetters(t, e, 1)
	if got := header(dead[0], ingest.HeaderReason); got != "wrong_key" {
		t.Errorf("reason %q, want wrong_key", got)
	}
	if len(dead[0].Key) > ingest.MaxDeadLetterKeyBytes || len(header(dead[0], ingest.HeaderError)) > 4096 {
		t.Errorf("dead letter key %d bytes, error %d bytes: both must be cut", len(dead[0].Key), len(header(dead[0], ingest.HeaderError)))
	}
}

// TestLargeCartOfEscapableIdsPublishes fills a cart with 1000 product ids
// made of '<', which JSON escaping would make six times longer than the
// NATS payload limit allows.
func TestLargeCartOfEscapableIdsPublishes(t *testing.T) {
	e := newEnv(t)
	states := e.collectStates("t1")
	e.start()

	var msgs []kafka.Message
	for i := range 1000 {
		msgs = append(msgs, e.event("big", map[string]any{"eventType": "CART_ADD", "productId": strings.Repeat("<", 250) + fmt.Sprintf("%04d", i)}))
	}
	e.send(msgs...)
	e.send(e.event("after", map[string]any{"eventType": "CART_ADD", "productId": "p1"}))

	waitFor(t, 60*time.Second, "all events applied", func() bool { return e.appliedEvents() == 1001 })
	waitFor(t, 10*time.Second, "the last state of the big cart", func() bool {
		for _, m := range states.all() {
			if strings.Contains(m.Subject, ".big.") && version(t, m) == 1000 {
				return len(m.Data) < 400_000 && !strings.Contains(string(m.Data), `\u003c`)
			}
		}
		return false
	})
}

func TestContactValueNeverPublished(t *testing.T) {
	e := newEnv(t)
	all := e.collect(e.subjects.All())
	e.start()

	e.send(e.sessionRecord("t1", "s1", "store-1"))
	waitFor(t, 30*time.Second, "session record", func() bool { return e.sessions.Load() == 1 })
	e.send(e.event("s1", map[string]any{"eventType": "CONTACT_IDENTIFY", "str1": "EMAIL", "str2": "ann.secret@example.com"}))
	waitFor(t, 30*time.Second, "the event on the session and space subjects", func() bool { return all.len() >= 2 })

	for _, m := range all.all() {
		if strings.Contains(string(m.Data), "ann.secret") {
			t.Errorf("%s carries the contact value: %s", m.Subject, m.Data)
		}
		if !strings.Contains(string(m.Data), "hmac-sha256:") {
			t.Errorf("%s lacks the contact hash: %s", m.Subject, m.Data)
		}
	}
}
