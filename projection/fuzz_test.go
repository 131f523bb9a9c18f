package projection_test

import (
	"bytes"
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/schemas"
)

// fuzzConfig has small limits so that short inputs reach them.
var fuzzConfig = projection.Config{
	ContactKey: testKey, MaxCartProducts: 3, MaxSearches: 2, MaxStatefulKeys: 2, CaptureWindow: 4,
}

var fuzzSeeds = []string{
	`{"tenantId":"t1","sessionId":"s1","clientId":"c1","dataResidency":"EU","eventTime":"2019-10-01T12:00:00Z","eventType":"CART_ADD","productId":"p1","captureId":"e1"}`,
	`{"tenantId":"t1","sessionId":"s1","clientId":"c1","dataResidency":"EU","eventTime":"2019-10-01T12:00:00Z","eventType":"CART_ADD","productId":"p9","int1":1000000,"captureId":"e2"}`,
	`{"tenantId":"t1","sessionId":"s1","clientId":"c1","dataResidency":"EU","eventTime":"2019-10-01T12:00:00Z","eventType":"CART_REMOVE","productId":"p1","int1":2.0}`,
	`{"tenantId":"t1","sessionId":"s1","clientId":"c1","dataResidency":"EU","eventTime":"2019-10-01T12:00:00Z","eventType":"CART_REMOVE","productId":"p2"}`,
	`{"tenantId":"t1","sessionId":"s1","clientId":"c1","dataResidency":"EU","eventTime":"2019-10-01T12:00:00Z","eventType":"CART_CLEAR"}`,
	`{"tenantId":"t1","sessionId":"s1","clientId":"c1","dataResidency":"EU","eventTime":"2019-10-01T12:00:00Z","eventType":"PURCHASE","str1":"tx","int1":1999}`,
	`{"tenantId":"t1","sessionId":"s1","clientId":"c1","dataResidency":"US","eventTime":"2019-10-01T12:00:00.5+02:00","eventType":"SEARCH","str1":"shoes"}`,
	`{"tenantId":"t1","sessionId":"s1","clientId":"c1","dataResidency":"EU","eventTime":"2019-10-01T12:00:00Z","eventType":"SEARCH_CLEAR"}`,
	`{"tenantId":"t1","sessionId":"s1","clientId":"c1","dataResidency":"EU","eventTime":"2019-10-01T12:00:00Z","eventType":"RATING","int1":5}`,
	`{"tenantId":"t1","sessionId":"s1","clientId":"c1","dataResidency":"EU","eventTime":"2019-10-01T12:00:00Z","eventType":"CONTACT_IDENTIFY","str1":"email","str2":"ann@example.com"}`,
	`{"tenantId":"t1","sessionId":"s1","clientId":"c1","dataResidency":"EU","eventTime":"2019-10-01T12:00:00Z","eventType":"MOOD","stateful":true,"str1":"happy","public":60000}`,
	`{"tenantId":"t1","sessionId":"s1","clientId":"c1","dataResidency":"EU","eventTime":"2019-10-01T12:00:00Z","eventType":"LEVEL","stateful":true,"int1":-3}`,
	`{"tenantId":"t1","sessionId":12345,"clientId":"c1","dataResidency":"EU","eventTime":"2099-01-01T00:00:00Z","eventType":"PRODUCT_VIEW","productId":"p1","interaction":true}`,
	`{"tenantId":"t2","sessionId":"s1","clientId":"c1","dataResidency":"EU","eventTime":"2019-10-01T12:00:00Z","eventType":"CART_ADD","productId":"p1"}`,
}

// fuzzStart returns the state each fuzz input is applied to: a session with a
// full cart, a full stateful map and a search list at its limit.
func fuzzStart() *projection.Session {
	return &projection.Session{
		Tenant: "t1", ID: "s1", Known: true, SpaceID: "sp",
		Cart:     map[string]int64{"p1": 2, "p2": 1, "p3": 5},
		Search:   []string{"a", "b"},
		Stateful: map[string]projection.Value{"K1": {Int: ptr[int64](1), Expiry: baseMillis}, "K2": {Str: ptr("x"), Expiry: baseMillis + 1}},
		Seen:     []string{"old-1", "old-2"},
		Version:  3,
	}
}

// FuzzDecodeAndReduce decodes each line of the input as an event and applies
// the valid ones to one session, checking the reducers' invariants after
// every step.
func FuzzDecodeAndReduce(f *testing.F) {
	for _, seed := range fuzzSeeds {
		f.Add([]byte(seed))
	}
	f.Add([]byte(fuzzSeeds[0] + "\n" + fuzzSeeds[0] + "\n" + fuzzSeeds[3] + "\n" + fuzzSeeds[6] + "\n" + fuzzSeeds[6]))
	f.Add([]byte(fuzzSeeds[10] + "\n" + fuzzSeeds[11] + "\n" + fuzzSeeds[4]))

	v := schemas.NewValidator()
	recordTime := baseTime.Add(time.Hour)
	f.Fuzz(func(t *testing.T, data []byte) {
		s := fuzzStart()
		for i, line := range bytes.Split(data, []byte("\n")) {
			if i == 16 {
				break
			}
			e, err := v.DecodeEvent(line)
			if err != nil {
				var fe *schemas.FieldError
				if !errors.As(err, &fe) {
					t.Fatalf("DecodeEvent error %v is a %T, want *schemas.FieldError", err, err)
				}
				continue
			}
			applyAndCheck(t, s, e, recordTime)
		}
	})
}

// applyAndCheck applies e to s and checks the invariants of the result.
func applyAndCheck(t *testing.T, s *projection.Session, e *schemas.Event, recordTime time.Time) {
	before := marshal(t, s)
	version := s.Version
	changes, err := projection.ApplyEvent(s, e, recordTime, fuzzConfig)
	if err != nil {
		checkFuzzError(t, err)
		checkUnchanged(t, s, before)
		return
	}

	if changes.Duplicate && !bytes.Equal(before, marshal(t, s)) {
		t.Fatal("a duplicate changed the state")
	}
	if changes.State != (s.Version == version+1) || (!changes.State && s.Version != version) {
		t.Fatalf("State = %v but Version went from %d to %d", changes.State, version, s.Version)
	}
	checkInvariants(t, s)

	got, err := projection.Unmarshal(marshal(t, s))
	if err != nil {
		t.Fatalf("Unmarshal of Marshal: %v", err)
	}
	if !reflect.DeepEqual(*got, normalized(s)) {
		t.Fatalf("round trip\n got %+v\nwant %+v", *got, *s)
	}

	// Applying the same event again is a duplicate when it has a captureId.
	if e.CaptureID != "" {
		again, err := projection.ApplyEvent(s, e, recordTime, fuzzConfig)
		if err != nil || again != (projection.Changes{Duplicate: true}) {
			t.Fatalf("second apply of %s: %+v, %v, want Duplicate", e.CaptureID, again, err)
		}
	}
}

func checkFuzzError(t *testing.T, err error) {
	t.Helper()
	var fe *schemas.FieldError
	switch {
	case errors.Is(err, projection.ErrWrongSession):
	case errors.As(err, &fe) && fe.Reason == schemas.ReasonLimitExceeded:
	default:
		t.Fatalf("ApplyEvent of a valid event failed with %v", err)
	}
}

func checkInvariants(t *testing.T, s *projection.Session) {
	t.Helper()
	for p, q := range s.Cart {
		if q <= 0 {
			t.Fatalf("product %q has quantity %d", p, q)
		}
	}
	if len(s.Cart) > fuzzConfig.MaxCartProducts {
		t.Fatalf("cart has %d products, limit %d", len(s.Cart), fuzzConfig.MaxCartProducts)
	}
	if len(s.Search) > fuzzConfig.MaxSearches {
		t.Fatalf("%d searches kept, limit %d", len(s.Search), fuzzConfig.MaxSearches)
	}
	if slices.Contains(s.Search, "") {
		t.Fatalf("Search %q contains an empty query", s.Search)
	}
	if len(s.Stateful) > fuzzConfig.MaxStatefulKeys {
		t.Fatalf("%d stateful keys, limit %d", len(s.Stateful), fuzzConfig.MaxStatefulKeys)
	}
	for k, v := range s.Stateful {
		if (v.Str == nil) == (v.Int == nil) || v.Expiry <= v.Updated {
			t.Fatalf("stateful %q = %+v", k, v)
		}
	}
	if len(s.Seen) > fuzzConfig.CaptureWindow {
		t.Fatalf("Seen holds %d ids, window %d", len(s.Seen), fuzzConfig.CaptureWindow)
	}
	if s.Rating != nil && (s.Rating.Value < schemas.MinRating || s.Rating.Value > schemas.MaxRating) {
		t.Fatalf("Rating = %d", s.Rating.Value)
	}
	if view := s.View(); !maps.Equal(view.Cart, s.Cart) || !slices.Equal(view.Search, s.Search) {
		t.Fatalf("View() = %+v differs from the state", view)
	}
}
