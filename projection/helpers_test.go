package projection_test

import (
	"bytes"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/schemas"
)

// baseTime is the event time of test events unless an option changes it.
var baseTime = time.Date(2019, 10, 1, 12, 0, 0, 0, time.UTC)

var baseMillis = baseTime.UnixMilli()

var testKey = []byte("0123456789abcdef0123456789abcdef")

// option changes a test event.
type option func(e *schemas.Event)

func product(id string) option { return func(e *schemas.Event) { e.ProductID = id } }
func int1(n int64) option      { return func(e *schemas.Event) { e.Int1 = &n } }
func str1(s string) option     { return func(e *schemas.Event) { e.Str1 = &s } }
func str2(s string) option     { return func(e *schemas.Event) { e.Str2 = &s } }
func capture(id string) option { return func(e *schemas.Event) { e.CaptureID = id } }
func stateful() option         { return func(e *schemas.Event) { e.Stateful = true } }
func public(ms int64) option   { return func(e *schemas.Event) { e.Public = &ms } }
func tenant(id string) option  { return func(e *schemas.Event) { e.TenantID = id } }

// after sets the event time to baseTime plus d.
func after(d time.Duration) option {
	return func(e *schemas.Event) {
		e.Time = baseTime.Add(d)
		e.EventTime = e.Time.Format(time.RFC3339Nano)
	}
}

// event builds an event of tenant t1 and session s1 at baseTime, as
// schemas.Validator.DecodeEvent would return it.
func event(eventType string, opts ...option) *schemas.Event {
	e := &schemas.Event{
		TenantID: "t1", SessionID: "s1", ClientID: "c1", DataResidency: "EU",
		EventType: eventType, EventTime: baseTime.Format(time.RFC3339Nano), Time: baseTime,
	}
	for _, opt := range opts {
		opt(e)
	}
	return e
}

// apply applies e with no record time and the given config, failing the test
// on error.
func apply(t *testing.T, s *projection.Session, e *schemas.Event, cfg projection.Config) projection.Changes {
	t.Helper()
	changes, err := projection.ApplyEvent(s, e, time.Time{}, cfg)
	if err != nil {
		t.Fatalf("ApplyEvent(%s %s): %v", e.EventType, e.ProductID, err)
	}
	return changes
}

func marshal(t testing.TB, s *projection.Session) []byte {
	t.Helper()
	b, err := projection.Marshal(s)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return b
}

// normalized returns a copy of s in which empty maps and lists are nil, the
// form that Unmarshal returns.
func normalized(s *projection.Session) projection.Session {
	n := *s
	if len(n.Cart) == 0 {
		n.Cart = nil
	} else {
		n.Cart = maps.Clone(n.Cart)
	}
	if len(n.Stateful) == 0 {
		n.Stateful = nil
	}
	if len(n.Search) == 0 {
		n.Search = nil
	}
	if len(n.Seen) == 0 {
		n.Seen = nil
	}
	return n
}

// sameSession reports whether a and b hold the same state, treating empty
// and nil collections alike.
func sameSession(a, b *projection.Session) bool {
	return reflect.DeepEqual(normalized(a), normalized(b))
}

// checkUnchanged fails the test when s no longer encodes to before.
func checkUnchanged(t *testing.T, s *projection.Session, before []byte) {
	t.Helper()
	if after := marshal(t, s); !bytes.Equal(before, after) {
		t.Errorf("state changed:\nbefore %s\nafter  %s", before[1:], after[1:])
	}
}
