package projection_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/schemas"
)

// sessionRecord builds a session record of tenant t1 and session s1.
func sessionRecord(created, space, client, captureID string) *schemas.Session {
	return &schemas.Session{
		TenantID: "t1", SessionID: "s1", SessionCreated: created, Environment: "production",
		DataResidency: "EU", Country: "FI", SpaceID: space, AppID: "kiosk", AppVersion: "1",
		InstallationID: "i1", InstallationVersion: "1", DeviceID: "d1", ClientID: client, CaptureID: captureID,
	}
}

func applySession(t *testing.T, s *projection.Session, r *schemas.Session) projection.Changes {
	t.Helper()
	changes, err := projection.ApplySession(s, r, projection.Config{})
	if err != nil {
		t.Fatalf("ApplySession(%s %s): %v", r.SessionCreated, r.SpaceID, err)
	}
	return changes
}

func TestApplySessionFirstRecord(t *testing.T) {
	var s projection.Session
	changes := applySession(t, &s, sessionRecord("2019-10-01T12:00:00.250Z", "store-7", "c1", "cap-s"))
	if changes != (projection.Changes{SpaceKnown: true}) {
		t.Errorf("changes = %+v, want only SpaceKnown", changes)
	}
	want := projection.Session{
		Tenant: "t1", ID: "s1", Known: true, SpaceID: "store-7", ClientID: "c1",
		Created: baseMillis + 250, RecordCaptureID: "cap-s", Applied: 1,
	}
	if !sameSession(&s, &want) {
		t.Errorf("session = %+v, want %+v", s, want)
	}
}

func TestApplySessionAfterEvents(t *testing.T) {
	// Events that arrive before their session record keep their effect, and
	// the record leaves CART, SEARCH and Version alone.
	var s projection.Session
	cfg := projection.Config{}
	apply(t, &s, event("CART_ADD", product("p1"), int1(2)), cfg)
	apply(t, &s, event("SEARCH", str1("shoes")), cfg)
	view, version := s.View(), s.Version

	changes := applySession(t, &s, sessionRecord("2019-10-01T11:00:00Z", "store-7", "c1", "cap-s"))
	if !changes.SpaceKnown || changes.State {
		t.Errorf("changes = %+v, want SpaceKnown and no State", changes)
	}
	if got := s.View(); got.Cart["p1"] != view.Cart["p1"] || len(got.Search) != len(view.Search) {
		t.Errorf("view changed from %+v to %+v", view, got)
	}
	if s.Version != version {
		t.Errorf("Version = %d, want %d", s.Version, version)
	}
}

func TestApplySessionDuplicate(t *testing.T) {
	var s projection.Session
	r := sessionRecord("2019-10-01T12:00:00Z", "store-7", "c1", "cap-s")
	applySession(t, &s, r)
	before := marshal(t, &s)

	changes := applySession(t, &s, r)
	if changes != (projection.Changes{Duplicate: true}) {
		t.Errorf("changes = %+v, want only Duplicate", changes)
	}
	checkUnchanged(t, &s, before)
}

func TestApplySessionKeepsSmallestRecord(t *testing.T) {
	base := sessionRecord("2019-10-01T12:00:00Z", "store-7", "c5", "cap-5")
	cases := []struct {
		name   string
		second *schemas.Session
		// replaces reports whether the second record replaces the first.
		replaces bool
	}{
		{"earlier created", sessionRecord("2019-10-01T11:59:59Z", "store-9", "c9", "cap-9"), true},
		{"later created", sessionRecord("2019-10-01T12:00:01Z", "store-1", "c1", "cap-1"), false},
		{"same time smaller space", sessionRecord("2019-10-01T12:00:00Z", "store-1", "c9", "cap-9"), true},
		{"same time larger space", sessionRecord("2019-10-01T12:00:00Z", "store-8", "c1", "cap-1"), false},
		{"same space smaller client", sessionRecord("2019-10-01T12:00:00Z", "store-7", "c1", "cap-9"), true},
		{"same space larger client", sessionRecord("2019-10-01T12:00:00Z", "store-7", "c6", "cap-1"), false},
		{"same client smaller capture", sessionRecord("2019-10-01T12:00:00Z", "store-7", "c5", "cap-1"), true},
		{"same client larger capture", sessionRecord("2019-10-01T12:00:00Z", "store-7", "c5", "cap-6"), false},
		{"same time in another zone", sessionRecord("2019-10-01T14:00:00+02:00", "store-7", "c5", "cap-1"), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, order := range [][]*schemas.Session{{base, c.second}, {c.second, base}} {
				var s projection.Session
				applySession(t, &s, order[0])
				applySession(t, &s, order[1])
				want := base
				if c.replaces {
					want = c.second
				}
				if s.SpaceID != want.SpaceID || s.ClientID != want.ClientID || s.RecordCaptureID != want.CaptureID {
					t.Errorf("kept space %s client %s capture %s, want the record %+v",
						s.SpaceID, s.ClientID, s.RecordCaptureID, want)
				}
			}
		})
	}
}

func TestApplySessionMovesSpace(t *testing.T) {
	var s projection.Session
	applySession(t, &s, sessionRecord("2019-10-01T12:00:00Z", "store-7", "c1", "cap-2"))

	changes := applySession(t, &s, sessionRecord("2019-10-01T11:00:00Z", "store-3", "c1", "cap-1"))
	if changes != (projection.Changes{PreviousSpaceID: "store-7"}) {
		t.Errorf("changes = %+v, want PreviousSpaceID store-7 only", changes)
	}
	if s.SpaceID != "store-3" {
		t.Errorf("SpaceID = %q, want store-3", s.SpaceID)
	}

	// A replacing record in the same space changes no space.
	changes = applySession(t, &s, sessionRecord("2019-10-01T10:00:00Z", "store-3", "c2", "cap-0"))
	if changes != (projection.Changes{}) {
		t.Errorf("changes = %+v, want none", changes)
	}
	if s.ClientID != "c2" || s.Created != baseMillis-2*time.Hour.Milliseconds() {
		t.Errorf("ClientID, Created = %q, %d, want the earlier record's", s.ClientID, s.Created)
	}
}

func TestApplySessionLaterRecordIgnored(t *testing.T) {
	var s projection.Session
	applySession(t, &s, sessionRecord("2019-10-01T12:00:00Z", "store-7", "c1", "cap-1"))
	applied := s.Applied
	changes := applySession(t, &s, sessionRecord("2019-10-01T13:00:00Z", "store-9", "c1", "cap-2"))
	if changes != (projection.Changes{}) {
		t.Errorf("changes = %+v, want none", changes)
	}
	if s.SpaceID != "store-7" || s.RecordCaptureID != "cap-1" {
		t.Errorf("later record replaced the earlier one: space %q capture %q", s.SpaceID, s.RecordCaptureID)
	}
	if s.Applied != applied+1 {
		t.Errorf("Applied = %d, want %d: an ignored record still counts", s.Applied, applied+1)
	}
}

// permutations returns every order of the indexes 0..n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

func TestApplySessionOrderIndependent(t *testing.T) {
	// Records and events arrive in every order, with one record twice. The
	// events commute because they add to the cart, so every order must end
	// in the same bytes, and the space becomes known once.
	type step struct {
		record *schemas.Session
		event  *schemas.Event
	}
	steps := []step{
		{record: sessionRecord("2019-10-01T12:00:00Z", "store-7", "c1", "cap-a")},
		{record: sessionRecord("2019-10-01T12:00:00Z", "store-3", "c1", "cap-b")},
		{record: sessionRecord("2019-10-01T12:00:00Z", "store-3", "c1", "cap-b")},
		{record: sessionRecord("2019-10-01T12:00:01Z", "store-1", "c0", "cap-c")},
		{event: event("CART_ADD", product("p1"), capture("e1"))},
		{event: event("CART_ADD", product("p2"), int1(3), capture("e2"))},
	}

	var want []byte
	for _, order := range permutations(len(steps)) {
		var s projection.Session
		spaceKnown := 0
		for _, i := range order {
			if steps[i].record != nil {
				if applySession(t, &s, steps[i].record).SpaceKnown {
					spaceKnown++
				}
				continue
			}
			apply(t, &s, steps[i].event, projection.Config{})
		}

		if spaceKnown != 1 {
			t.Errorf("order %v: SpaceKnown set %d times, want once", order, spaceKnown)
		}
		// Seen follows the order of the events, so compare the rest.
		s.Seen = nil
		got := marshal(t, &s)
		if want == nil {
			want = got
			continue
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("order %v ends in\n%s\nwant\n%s", order, got[1:], want[1:])
		}
	}
	if s, err := projection.Unmarshal(want); err != nil || s.SpaceID != "store-3" || s.RecordCaptureID != "cap-b" {
		t.Errorf("final state %+v, %v, want the record of store-3", s, err)
	}
}

func TestApplySessionErrors(t *testing.T) {
	cases := []struct {
		name   string
		record *schemas.Session
		check  func(error) bool
	}{
		{"invalid created", sessionRecord("2019-10-01 12:00:00", "store-7", "c1", ""), isFieldError(schemas.ReasonInvalidField, "sessionCreated")},
		{"missing created", sessionRecord("", "store-7", "c1", ""), isFieldError(schemas.ReasonMissingField, "sessionCreated")},
		{"missing space", sessionRecord("2019-10-01T12:00:00Z", "", "c1", ""), isFieldError(schemas.ReasonMissingField, "spaceId")},
		{"other session", func() *schemas.Session {
			r := sessionRecord("2019-10-01T12:00:00Z", "store-7", "c1", "")
			r.SessionID = "s2"
			return r
		}(), func(err error) bool { return errors.Is(err, projection.ErrWrongSession) }},
		{"other tenant", func() *schemas.Session {
			r := sessionRecord("2019-10-01T12:00:00Z", "store-7", "c1", "")
			r.TenantID = "t2"
			return r
		}(), func(err error) bool { return errors.Is(err, projection.ErrWrongSession) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := projection.Session{Tenant: "t1", ID: "s1", Cart: map[string]int64{"p1": 1}}
			before := marshal(t, &s)
			_, err := projection.ApplySession(&s, c.record, projection.Config{})
			if !c.check(err) {
				t.Errorf("got error %v, want the %s error", err, c.name)
			}
			checkUnchanged(t, &s, before)
		})
	}
}

func isFieldError(reason schemas.Reason, field string) func(error) bool {
	return func(err error) bool {
		var fe *schemas.FieldError
		return errors.As(err, &fe) && fe.Reason == reason && fe.Field == field
	}
}
