package bench

import (
	"slices"
	"strings"
	"testing"

	"github.com/gridsession/gridsession/schemas"
)

// sessionRecords are the records of one synthetic session, in emission
// order.
type sessionRecords struct {
	session *schemas.Session
	events  []*schemas.Event
}

func TestSyntheticSessionOpeningRecords(t *testing.T) {
	g := newSynthetic("t1", "0a1b2c3d", 100, 42)
	records := collect(t, g, 50_000)

	sessions := map[string]*sessionRecords{}
	clients := map[string]bool{}
	validator := schemas.NewValidator()
	for i, r := range records {
		switch {
		case r.client != nil:
			if clients[r.client.ClientID] {
				t.Errorf("record %d: client %s sent twice", i, r.client.ClientID)
			}
			clients[r.client.ClientID] = true
			if err := validator.ValidateClient(r.client); err != nil {
				t.Errorf("record %d: %v", i, err)
			}
		case r.session != nil:
			if sessions[r.session.SessionID] != nil {
				t.Fatalf("record %d: session %s sent twice", i, r.session.SessionID)
			}
			sessions[r.session.SessionID] = &sessionRecords{session: r.session}
			if !clients[r.session.ClientID] {
				t.Errorf("record %d: session %s before the record of its client %s", i, r.session.SessionID, r.session.ClientID)
			}
			if err := validator.ValidateSession(r.session); err != nil {
				t.Errorf("record %d: %v", i, err)
			}
		case r.event != nil:
			s := sessions[r.event.SessionID]
			if s == nil {
				t.Fatalf("record %d: event of session %s before its session record", i, r.event.SessionID)
			}
			s.events = append(s.events, r.event)
			e := *r.event
			e.CaptureID = "c1"
			if err := validator.ValidateEvent(&e); err != nil {
				t.Errorf("record %d: %v", i, err)
			}
		}
	}

	for id, s := range sessions {
		if s.events[0].EventType != schemas.EventContactIdentify {
			t.Errorf("session %s starts with %s, want CONTACT_IDENTIFY", id, s.events[0].EventType)
		}
		if !strings.HasPrefix(s.session.SpaceID, "store-") || len(s.session.SpaceID) != len("store-0") {
			t.Errorf("session %s has space %q, want store-0 to store-9", id, s.session.SpaceID)
		}
	}
}

func TestSyntheticShapeMatchesSamples(t *testing.T) {
	g := newSynthetic("t1", "0a1b2c3d", 1, 7)
	var rows []int
	types := map[string]int{}
	current, count := "", 0
	total := 0
	for _, r := range collect(t, g, 200_000) {
		if r.event == nil || r.event.EventType == schemas.EventContactIdentify {
			continue
		}
		// With one open session, sessions follow one another.
		if r.event.SessionID != current {
			if count > 0 {
				rows = append(rows, count)
			}
			current, count = r.event.SessionID, 0
		}
		count++
		types[r.event.EventType]++
		total++
	}

	slices.Sort(rows)
	if median := rows[len(rows)/2]; median != 2 {
		t.Errorf("median rows per session = %d, want 2", median)
	}
	if most := rows[len(rows)-1]; most != maxSessionRows {
		t.Errorf("max rows per session = %d, want %d", most, maxSessionRows)
	}
	mean := float64(total) / float64(len(rows))
	if mean < 3.0 || mean > 3.8 {
		t.Errorf("mean rows per session = %.2f, want about 3.4", mean)
	}
	if share := float64(types[schemas.EventProductView]) / float64(total); share < 0.84 || share > 0.89 {
		t.Errorf("PRODUCT_VIEW share = %.3f, want about 0.864", share)
	}
	for _, eventType := range []string{schemas.EventCartAdd, schemas.EventCartRemove, schemas.EventPurchase} {
		if types[eventType] == 0 {
			t.Errorf("no %s in %d rows", eventType, total)
		}
	}
}

func TestSyntheticSeedRepeatsRecords(t *testing.T) {
	a := collect(t, newSynthetic("t1", "r", 10, 99), 500)
	b := collect(t, newSynthetic("t1", "r", 10, 99), 500)
	for i := range a {
		if a[i].event == nil || b[i].event == nil {
			continue
		}
		if a[i].event.SessionID != b[i].event.SessionID || a[i].event.ProductID != b[i].event.ProductID || a[i].event.EventType != b[i].event.EventType {
			t.Fatalf("record %d differs between two runs with seed 99: %+v and %+v", i, a[i].event, b[i].event)
		}
	}
}
