package projection_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/schemas"
)

func ptr[T any](v T) *T { return &v }

// reducerState is the part of a Session that the event reducers change,
// besides LastActivity and Seen.
type reducerState struct {
	Cart        map[string]int64
	CartUpdated int64
	Search      []string
	Rating      *projection.Rating
	Contact     string
	Stateful    map[string]projection.Value
	Version     uint64
}

func reducerStateOf(s *projection.Session) reducerState {
	n := normalized(s)
	return reducerState{n.Cart, n.CartUpdated, n.Search, n.Rating, n.Contact, n.Stateful, n.Version}
}

func TestApplyEventReducers(t *testing.T) {
	contact := projection.HashContact(testKey, "email", "ann@example.com")
	earlier := baseMillis - 60_000
	cases := []struct {
		name   string
		before projection.Session
		event  *schemas.Event
		want   reducerState
		// changes is the expected result; Duplicate and SpaceKnown are never
		// set by these cases.
		changes projection.Changes
	}{
		{
			name:    "cart add defaults to one",
			event:   event("CART_ADD", product("p1")),
			want:    reducerState{Cart: map[string]int64{"p1": 1}, CartUpdated: baseMillis, Version: 1},
			changes: projection.Changes{State: true, Contribution: true},
		},
		{
			name:    "cart add sums quantities",
			before:  projection.Session{Cart: map[string]int64{"p1": 2}, CartUpdated: earlier, Version: 4},
			event:   event("CART_ADD", product("p1"), int1(3)),
			want:    reducerState{Cart: map[string]int64{"p1": 5}, CartUpdated: baseMillis, Version: 5},
			changes: projection.Changes{State: true, Contribution: true},
		},
		{
			name:    "cart add another product",
			before:  projection.Session{Cart: map[string]int64{"p1": 2}},
			event:   event("CART_ADD", product("p2"), int1(1000000)),
			want:    reducerState{Cart: map[string]int64{"p1": 2, "p2": 1000000}, CartUpdated: baseMillis, Version: 1},
			changes: projection.Changes{State: true, Contribution: true},
		},
		{
			name:    "cart add at an older time keeps the latest update time",
			before:  projection.Session{Cart: map[string]int64{"p1": 1}, CartUpdated: baseMillis + 1000},
			event:   event("CART_ADD", product("p1")),
			want:    reducerState{Cart: map[string]int64{"p1": 2}, CartUpdated: baseMillis + 1000, Version: 1},
			changes: projection.Changes{State: true, Contribution: true},
		},
		{
			name:    "cart remove part",
			before:  projection.Session{Cart: map[string]int64{"p1": 3, "p2": 1}},
			event:   event("CART_REMOVE", product("p1"), int1(1)),
			want:    reducerState{Cart: map[string]int64{"p1": 2, "p2": 1}, CartUpdated: baseMillis, Version: 1},
			changes: projection.Changes{State: true, Contribution: true},
		},
		{
			name:    "cart remove exact quantity",
			before:  projection.Session{Cart: map[string]int64{"p1": 3, "p2": 1}},
			event:   event("CART_REMOVE", product("p1"), int1(3)),
			want:    reducerState{Cart: map[string]int64{"p2": 1}, CartUpdated: baseMillis, Version: 1},
			changes: projection.Changes{State: true, Contribution: true},
		},
		{
			name:    "cart remove more than held",
			before:  projection.Session{Cart: map[string]int64{"p1": 3}},
			event:   event("CART_REMOVE", product("p1"), int1(10)),
			want:    reducerState{CartUpdated: baseMillis, Version: 1},
			changes: projection.Changes{State: true, Contribution: true},
		},
		{
			name:    "cart remove without quantity removes all",
			before:  projection.Session{Cart: map[string]int64{"p1": 7, "p2": 1}},
			event:   event("CART_REMOVE", product("p1")),
			want:    reducerState{Cart: map[string]int64{"p2": 1}, CartUpdated: baseMillis, Version: 1},
			changes: projection.Changes{State: true, Contribution: true},
		},
		{
			name:   "cart remove of a product not in the cart",
			before: projection.Session{Cart: map[string]int64{"p2": 1}, CartUpdated: earlier, Version: 2},
			event:  event("CART_REMOVE", product("p1"), int1(1)),
			want:   reducerState{Cart: map[string]int64{"p2": 1}, CartUpdated: earlier, Version: 2},
		},
		{
			name:    "cart clear",
			before:  projection.Session{Cart: map[string]int64{"p1": 1, "p2": 2}, Search: []string{"shoes"}},
			event:   event("CART_CLEAR"),
			want:    reducerState{Search: []string{"shoes"}, CartUpdated: baseMillis, Version: 1},
			changes: projection.Changes{State: true, Contribution: true},
		},
		{
			name:   "cart clear of an empty cart",
			before: projection.Session{CartUpdated: earlier, Version: 3},
			event:  event("CART_CLEAR"),
			want:   reducerState{CartUpdated: earlier, Version: 3},
		},
		{
			name:    "purchase empties the cart",
			before:  projection.Session{Cart: map[string]int64{"p1": 1}},
			event:   event("PURCHASE", str1("tx-1"), str2("EUR"), int1(1999)),
			want:    reducerState{CartUpdated: baseMillis, Version: 1},
			changes: projection.Changes{State: true, Contribution: true},
		},
		{
			name:  "purchase with an empty cart",
			event: event("PURCHASE", str1("tx-1")),
		},
		{
			name:    "search into an empty list",
			event:   event("SEARCH", str1("shoes")),
			want:    reducerState{Search: []string{"shoes"}, Version: 1},
			changes: projection.Changes{State: true},
		},
		{
			name:    "search appends newest last",
			before:  projection.Session{Search: []string{"shoes", "socks"}, Version: 9},
			event:   event("SEARCH", str1("shoes")),
			want:    reducerState{Search: []string{"shoes", "socks", "shoes"}, Version: 10},
			changes: projection.Changes{State: true},
		},
		{
			name:    "search clear",
			before:  projection.Session{Search: []string{"shoes"}, Cart: map[string]int64{"p1": 1}},
			event:   event("SEARCH_CLEAR"),
			want:    reducerState{Cart: map[string]int64{"p1": 1}, Version: 1},
			changes: projection.Changes{State: true},
		},
		{
			name:   "search clear of an empty list",
			before: projection.Session{Version: 2},
			event:  event("SEARCH_CLEAR"),
			want:   reducerState{Version: 2},
		},
		{
			name:    "rating first",
			event:   event("RATING", int1(4)),
			want:    reducerState{Rating: &projection.Rating{Value: 4, Updated: baseMillis}},
			changes: projection.Changes{Contribution: true},
		},
		{
			name:    "rating changes value",
			before:  projection.Session{Rating: &projection.Rating{Value: 2, Updated: earlier}},
			event:   event("RATING", int1(5)),
			want:    reducerState{Rating: &projection.Rating{Value: 5, Updated: baseMillis}},
			changes: projection.Changes{Contribution: true},
		},
		{
			name:    "rating same value later renews it",
			before:  projection.Session{Rating: &projection.Rating{Value: 5, Updated: earlier}},
			event:   event("RATING", int1(5)),
			want:    reducerState{Rating: &projection.Rating{Value: 5, Updated: baseMillis}},
			changes: projection.Changes{Contribution: true},
		},
		{
			name:   "rating same value same time",
			before: projection.Session{Rating: &projection.Rating{Value: 1, Updated: baseMillis}},
			event:  event("RATING", int1(1)),
			want:   reducerState{Rating: &projection.Rating{Value: 1, Updated: baseMillis}},
		},
		{
			name:    "contact identify",
			event:   event("CONTACT_IDENTIFY", str1("email"), str2("ann@example.com")),
			want:    reducerState{Contact: contact},
			changes: projection.Changes{Contribution: true},
		},
		{
			name:    "contact identify replaces another contact",
			before:  projection.Session{Contact: projection.HashContact(testKey, "email", "bob@example.com")},
			event:   event("CONTACT_IDENTIFY", str1("email"), str2("ann@example.com")),
			want:    reducerState{Contact: contact},
			changes: projection.Changes{Contribution: true},
		},
		{
			name:   "contact identify of the same contact",
			before: projection.Session{Contact: contact},
			event:  event("CONTACT_IDENTIFY", str1("EMAIL "), str2(" ann@example.com")),
			want:   reducerState{Contact: contact},
		},
		{
			name:  "stateful string",
			event: event("MOOD", stateful(), str1("happy")),
			want: reducerState{Stateful: map[string]projection.Value{
				"MOOD": {Str: ptr("happy"), Updated: baseMillis, Expiry: baseMillis + projection.DefaultStatefulExpiry.Milliseconds()},
			}},
			changes: projection.Changes{Contribution: true},
		},
		{
			name:  "stateful int with public expiry",
			event: event("LEVEL", stateful(), int1(-3), public(60_000)),
			want: reducerState{Stateful: map[string]projection.Value{
				"LEVEL": {Int: ptr[int64](-3), Updated: baseMillis, Expiry: baseMillis + 60_000},
			}},
			changes: projection.Changes{Contribution: true},
		},
		{
			name:  "stateful prefers str1 over int1",
			event: event("MOOD", stateful(), str1("calm"), int1(7)),
			want: reducerState{Stateful: map[string]projection.Value{
				"MOOD": {Str: ptr("calm"), Updated: baseMillis, Expiry: baseMillis + projection.DefaultStatefulExpiry.Milliseconds()},
			}},
			changes: projection.Changes{Contribution: true},
		},
		{
			name: "stateful overwrites a value",
			before: projection.Session{Stateful: map[string]projection.Value{
				"MOOD":  {Str: ptr("sad"), Updated: earlier, Expiry: earlier + 1},
				"LEVEL": {Int: ptr[int64](1), Updated: earlier, Expiry: earlier + 1},
			}},
			event: event("MOOD", stateful(), int1(2), public(10)),
			want: reducerState{Stateful: map[string]projection.Value{
				"MOOD":  {Int: ptr[int64](2), Updated: baseMillis, Expiry: baseMillis + 10},
				"LEVEL": {Int: ptr[int64](1), Updated: earlier, Expiry: earlier + 1},
			}},
			changes: projection.Changes{Contribution: true},
		},
		{
			name: "stateful same value same time",
			before: projection.Session{Stateful: map[string]projection.Value{
				"MOOD": {Str: ptr("ok"), Updated: baseMillis, Expiry: baseMillis + 10},
			}},
			event: event("MOOD", stateful(), str1("ok"), public(10)),
			want: reducerState{Stateful: map[string]projection.Value{
				"MOOD": {Str: ptr("ok"), Updated: baseMillis, Expiry: baseMillis + 10},
			}},
		},
		{
			name:   "product view changes no state",
			before: projection.Session{Cart: map[string]int64{"p1": 1}, Version: 1},
			event:  event("PRODUCT_VIEW", product("p1")),
			want:   reducerState{Cart: map[string]int64{"p1": 1}, Version: 1},
		},
		{
			name:  "custom event without stateful changes no state",
			event: event("PAGE_VIEW", str1("home"), int1(3)),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.before
			s.Tenant, s.ID = "t1", "s1"
			e := c.event
			e.CaptureID = "cap-" + c.name

			changes := apply(t, &s, e, projection.Config{ContactKey: testKey})
			if changes != c.changes {
				t.Errorf("changes = %+v, want %+v", changes, c.changes)
			}
			if got := reducerStateOf(&s); !reflect.DeepEqual(got, c.want) {
				t.Errorf("state\n got %+v\nwant %+v", got, c.want)
			}
			if s.LastActivity != baseMillis {
				t.Errorf("LastActivity = %d, want the event time %d", s.LastActivity, baseMillis)
			}
			if !slices.Equal(s.Seen, []string{e.CaptureID}) {
				t.Errorf("Seen = %q, want [%q]", s.Seen, e.CaptureID)
			}
		})
	}
}

func TestApplyEventClaimsEmptySession(t *testing.T) {
	var s projection.Session
	apply(t, &s, event("PRODUCT_VIEW"), projection.Config{})
	if s.Tenant != "t1" || s.ID != "s1" {
		t.Errorf("Tenant, ID = %q, %q, want t1, s1", s.Tenant, s.ID)
	}
	if s.Known {
		t.Error("Known is set by an event, want it set only by a session record")
	}
}

func TestApplyEventWrongSession(t *testing.T) {
	s := projection.Session{Tenant: "t1", ID: "s1", Cart: map[string]int64{"p1": 1}}
	before := marshal(t, &s)
	for name, e := range map[string]*schemas.Event{
		"other tenant":  event("CART_ADD", product("p1"), tenant("t2")),
		"other session": event("CART_CLEAR", func(e *schemas.Event) { e.SessionID = "s2" }),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := projection.ApplyEvent(&s, e, time.Time{}, projection.Config{})
			if !errors.Is(err, projection.ErrWrongSession) {
				t.Errorf("got %v, want ErrWrongSession", err)
			}
			checkUnchanged(t, &s, before)
		})
	}
}

func TestApplyEventLastActivityOnlyGrows(t *testing.T) {
	s := projection.Session{}
	apply(t, &s, event("PRODUCT_VIEW", after(time.Minute)), projection.Config{})
	apply(t, &s, event("PRODUCT_VIEW"), projection.Config{})
	if want := baseTime.Add(time.Minute).UnixMilli(); s.LastActivity != want {
		t.Errorf("LastActivity = %d, want the latest event time %d", s.LastActivity, want)
	}
}

func TestApplyEventVersionCountsStateChanges(t *testing.T) {
	s := projection.Session{}
	cfg := projection.Config{ContactKey: testKey}
	events := []*schemas.Event{
		event("CART_ADD", product("p1")),                                // 1
		event("RATING", int1(3)),                                        // contribution only
		event("SEARCH", str1("a")),                                      // 2
		event("CART_REMOVE", product("p9")),                             // nothing
		event("CONTACT_IDENTIFY", str1("phone"), str2("+358401234567")), // contribution only
		event("SEARCH_CLEAR"),                                           // 3
		event("SEARCH_CLEAR"),                                           // nothing
		event("CART_CLEAR"),                                             // 4
	}
	for _, e := range events {
		apply(t, &s, e, cfg)
	}
	if s.Version != 4 {
		t.Errorf("Version = %d, want 4 changes of CART or SEARCH", s.Version)
	}
}

func TestApplyEventCartLimit(t *testing.T) {
	cfg := projection.Config{MaxCartProducts: 2}
	s := projection.Session{}
	apply(t, &s, event("CART_ADD", product("p1")), cfg)
	apply(t, &s, event("CART_ADD", product("p2")), cfg)
	before := marshal(t, &s)

	_, err := projection.ApplyEvent(&s, event("CART_ADD", product("p3"), capture("c3")), time.Time{}, cfg)
	var fe *schemas.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want a *schemas.FieldError", err)
	}
	if fe.Reason != schemas.ReasonLimitExceeded || fe.Field != "productId" || fe.Value != `"p3"` {
		t.Errorf("got %s on %s = %s, want limit_exceeded on productId = \"p3\"", fe.Reason, fe.Field, fe.Value)
	}
	for _, part := range []string{"productId", "p3", "maximum of 2"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("Error() = %q does not contain %q", err, part)
		}
	}
	checkUnchanged(t, &s, before)

	// A product already in a full cart can still grow, and removing one
	// makes room for another.
	apply(t, &s, event("CART_ADD", product("p1"), int1(5)), cfg)
	apply(t, &s, event("CART_REMOVE", product("p2")), cfg)
	apply(t, &s, event("CART_ADD", product("p3"), capture("c3")), cfg)
	if want := map[string]int64{"p1": 6, "p3": 1}; !reflect.DeepEqual(s.Cart, want) {
		t.Errorf("Cart = %v, want %v", s.Cart, want)
	}
}

func TestApplyEventDefaultCartLimit(t *testing.T) {
	s := projection.Session{}
	for i := range projection.DefaultMaxCartProducts {
		apply(t, &s, event("CART_ADD", product(fmt.Sprintf("p%d", i))), projection.Config{})
	}
	_, err := projection.ApplyEvent(&s, event("CART_ADD", product("one-more")), time.Time{}, projection.Config{})
	var fe *schemas.FieldError
	if !errors.As(err, &fe) || fe.Reason != schemas.ReasonLimitExceeded {
		t.Fatalf("product %d: got %v, want limit_exceeded", projection.DefaultMaxCartProducts+1, err)
	}
	if len(s.Cart) != projection.DefaultMaxCartProducts {
		t.Errorf("cart has %d products, want %d", len(s.Cart), projection.DefaultMaxCartProducts)
	}
}

func TestApplyEventCartQuantityOverflow(t *testing.T) {
	s := projection.Session{Cart: map[string]int64{"p1": math.MaxInt64 - 1}}
	before := marshal(t, &s)
	_, err := projection.ApplyEvent(&s, event("CART_ADD", product("p1"), int1(2)), time.Time{}, projection.Config{})
	var fe *schemas.FieldError
	if !errors.As(err, &fe) || fe.Reason != schemas.ReasonLimitExceeded || fe.Field != "int1" {
		t.Fatalf("got %v, want limit_exceeded on int1", err)
	}
	checkUnchanged(t, &s, before)
}

func TestApplyEventSearchLimit(t *testing.T) {
	s := projection.Session{}
	for i := range 5 {
		apply(t, &s, event("SEARCH", str1(fmt.Sprint("q", i))), projection.Config{MaxSearches: 3})
	}
	if want := []string{"q2", "q3", "q4"}; !slices.Equal(s.Search, want) {
		t.Errorf("Search = %q, want the latest three %q", s.Search, want)
	}
	if s.Version != 5 {
		t.Errorf("Version = %d, want 5", s.Version)
	}
}

func TestApplyEventDefaultSearchLimit(t *testing.T) {
	s := projection.Session{}
	for i := range 60 {
		apply(t, &s, event("SEARCH", str1(fmt.Sprint("q", i))), projection.Config{})
	}
	if len(s.Search) != projection.DefaultMaxSearches {
		t.Fatalf("kept %d searches, want %d", len(s.Search), projection.DefaultMaxSearches)
	}
	if s.Search[0] != "q10" || s.Search[49] != "q59" {
		t.Errorf("Search runs from %q to %q, want q10 to q59", s.Search[0], s.Search[49])
	}
}

func TestApplyEventSearchLimitLowered(t *testing.T) {
	// State written under a larger limit shrinks to the new one on the next
	// search.
	s := projection.Session{Search: []string{"a", "b", "c", "d"}}
	apply(t, &s, event("SEARCH", str1("e")), projection.Config{MaxSearches: 2})
	if want := []string{"d", "e"}; !slices.Equal(s.Search, want) {
		t.Errorf("Search = %q, want %q", s.Search, want)
	}
}

func TestApplyEventSearchFullOfSameQuery(t *testing.T) {
	s := projection.Session{Search: []string{"x", "x"}, Version: 7}
	changes := apply(t, &s, event("SEARCH", str1("x")), projection.Config{MaxSearches: 2})
	if changes.State {
		t.Error("State = true, but a full list of the same query did not change")
	}
	if s.Version != 7 {
		t.Errorf("Version = %d, want 7", s.Version)
	}
	if !slices.Equal(s.Search, []string{"x", "x"}) {
		t.Errorf("Search = %q", s.Search)
	}
}

func TestApplyEventSearchDoesNotShareMemory(t *testing.T) {
	// A view taken before a search must not change when the session's list
	// is shifted in place.
	s := projection.Session{}
	cfg := projection.Config{MaxSearches: 2}
	apply(t, &s, event("SEARCH", str1("a")), cfg)
	apply(t, &s, event("SEARCH", str1("b")), cfg)
	view := s.View()
	apply(t, &s, event("SEARCH", str1("c")), cfg)
	if !slices.Equal(view.Search, []string{"a", "b"}) {
		t.Errorf("earlier view changed to %q", view.Search)
	}
}

func TestApplyEventStatefulLimit(t *testing.T) {
	cfg := projection.Config{MaxStatefulKeys: 2}
	s := projection.Session{}
	apply(t, &s, event("K1", stateful(), str1("a"), public(1000)), cfg)
	apply(t, &s, event("K2", stateful(), str1("b")), cfg)
	before := marshal(t, &s)

	_, err := projection.ApplyEvent(&s, event("K3", stateful(), str1("c")), time.Time{}, cfg)
	var fe *schemas.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want a *schemas.FieldError", err)
	}
	if fe.Reason != schemas.ReasonLimitExceeded || fe.Field != "eventType" || fe.Value != `"K3"` {
		t.Errorf("got %s on %s = %s, want limit_exceeded on eventType = \"K3\"", fe.Reason, fe.Field, fe.Value)
	}
	checkUnchanged(t, &s, before)

	// An existing key can still change.
	apply(t, &s, event("K2", stateful(), str1("b2")), cfg)
	if got := *s.Stateful["K2"].Str; got != "b2" {
		t.Errorf("K2 = %q, want b2", got)
	}
}

func TestApplyEventStatefulLimitDropsExpired(t *testing.T) {
	cfg := projection.Config{MaxStatefulKeys: 2}
	s := projection.Session{}
	apply(t, &s, event("K1", stateful(), str1("a"), public(1000)), cfg)
	apply(t, &s, event("K2", stateful(), str1("b")), cfg)

	// K1 expired at baseTime+1s, so K3 takes its place at baseTime+1s.
	changes := apply(t, &s, event("K3", stateful(), str1("c"), after(time.Second)), cfg)
	if !changes.Contribution {
		t.Error("Contribution = false, want true")
	}
	if _, ok := s.Stateful["K1"]; ok {
		t.Error("expired key K1 is still stored")
	}
	if len(s.Stateful) != 2 {
		t.Errorf("stored %d keys, want 2", len(s.Stateful))
	}
}

func TestApplyEventStatefulExpirySaturates(t *testing.T) {
	s := projection.Session{}
	apply(t, &s, event("K", stateful(), int1(1), public(math.MaxInt64)), projection.Config{})
	if got := s.Stateful["K"].Expiry; got != math.MaxInt64 {
		t.Errorf("Expiry = %d, want math.MaxInt64 instead of an overflow", got)
	}
}

func TestApplyEventRejectsInvalidFields(t *testing.T) {
	// Events that skipped schemas validation must fail without changing the
	// state.
	cases := []struct {
		name   string
		event  *schemas.Event
		reason schemas.Reason
		field  string
	}{
		{"cart add without product", event("CART_ADD"), schemas.ReasonMissingField, "productId"},
		{"cart remove without product", event("CART_REMOVE", int1(1)), schemas.ReasonMissingField, "productId"},
		{"cart add quantity zero", event("CART_ADD", product("p1"), int1(0)), schemas.ReasonInvalidField, "int1"},
		{"cart add quantity above max", event("CART_ADD", product("p1"), int1(schemas.MaxQuantity+1)), schemas.ReasonInvalidField, "int1"},
		{"cart remove negative quantity", event("CART_REMOVE", product("p1"), int1(-1)), schemas.ReasonInvalidField, "int1"},
		{"search without query", event("SEARCH"), schemas.ReasonMissingField, "str1"},
		{"search with empty query", event("SEARCH", str1("")), schemas.ReasonMissingField, "str1"},
		{"search query too long", event("SEARCH", str1(strings.Repeat("q", schemas.MaxSearchBytes+1))), schemas.ReasonInvalidField, "str1"},
		{"rating missing", event("RATING"), schemas.ReasonMissingField, "int1"},
		{"rating zero", event("RATING", int1(0)), schemas.ReasonInvalidField, "int1"},
		{"rating six", event("RATING", int1(6)), schemas.ReasonInvalidField, "int1"},
		{"contact without type", event("CONTACT_IDENTIFY", str2("a@example.com")), schemas.ReasonMissingField, "str1"},
		{"contact without value", event("CONTACT_IDENTIFY", str1("email")), schemas.ReasonMissingField, "str2"},
		{"contact with blank value", event("CONTACT_IDENTIFY", str1("email"), str2(" \n")), schemas.ReasonMissingField, "str2"},
		{"stateful without value", event("MOOD", stateful()), schemas.ReasonMissingField, "str1"},
		{"stateful public zero", event("MOOD", stateful(), str1("x"), public(0)), schemas.ReasonInvalidField, "public"},
		{"stateful CART key", event("CART", stateful(), str1("x")), schemas.ReasonInvalidField, "stateful"},
		{"event time missing", event("PRODUCT_VIEW", func(e *schemas.Event) { e.Time, e.EventTime = time.Time{}, "" }), schemas.ReasonMissingField, "eventTime"},
		{"event time invalid", event("PRODUCT_VIEW", func(e *schemas.Event) { e.Time, e.EventTime = time.Time{}, "now" }), schemas.ReasonInvalidField, "eventTime"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := projection.Session{Tenant: "t1", ID: "s1", Cart: map[string]int64{"p1": 1}, Version: 1}
			before := marshal(t, &s)
			c.event.CaptureID = "cap"
			_, err := projection.ApplyEvent(&s, c.event, time.Time{}, projection.Config{ContactKey: testKey})
			var fe *schemas.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *schemas.FieldError", err)
			}
			if fe.Reason != c.reason || fe.Field != c.field {
				t.Errorf("got %s on %q, want %s on %q (%v)", fe.Reason, fe.Field, c.reason, c.field, err)
			}
			checkUnchanged(t, &s, before)
		})
	}
}

func TestApplyEventContactNeedsKey(t *testing.T) {
	s := projection.Session{}
	before := marshal(t, &s)
	_, err := projection.ApplyEvent(&s, event("CONTACT_IDENTIFY", str1("email"), str2("a@example.com")), time.Time{}, projection.Config{})
	if !errors.Is(err, projection.ErrNoContactKey) {
		t.Errorf("got %v, want ErrNoContactKey", err)
	}
	checkUnchanged(t, &s, before)
}

func TestApplyEventParsesEventTime(t *testing.T) {
	// An event built by hand may have only EventTime.
	e := event("PRODUCT_VIEW", func(e *schemas.Event) { e.Time, e.EventTime = time.Time{}, "2019-10-01T14:00:00+02:00" })
	s := projection.Session{}
	apply(t, &s, e, projection.Config{})
	if s.LastActivity != baseMillis {
		t.Errorf("LastActivity = %d, want %d", s.LastActivity, baseMillis)
	}
}

func TestApplyEventDuplicateCaptureID(t *testing.T) {
	s := projection.Session{}
	cfg := projection.Config{}
	apply(t, &s, event("CART_ADD", product("p1"), capture("c1")), cfg)
	before := marshal(t, &s)

	// A retry of the same event, and a different event reusing the id,
	// are both dropped.
	for _, e := range []*schemas.Event{
		event("CART_ADD", product("p1"), capture("c1")),
		event("CART_CLEAR", capture("c1"), after(time.Hour)),
	} {
		changes := apply(t, &s, e, cfg)
		if changes != (projection.Changes{Duplicate: true}) {
			t.Errorf("%s: changes = %+v, want only Duplicate", e.EventType, changes)
		}
		checkUnchanged(t, &s, before)
	}
}

func TestApplyEventDuplicateBeforeValidation(t *testing.T) {
	// A duplicate is dropped even when applying it again would now fail.
	s := projection.Session{}
	cfg := projection.Config{MaxCartProducts: 1}
	apply(t, &s, event("CART_ADD", product("p1"), capture("c1")), cfg)
	apply(t, &s, event("CART_REMOVE", product("p1"), capture("c2")), cfg)
	apply(t, &s, event("CART_ADD", product("p2"), capture("c3")), cfg)
	changes, err := projection.ApplyEvent(&s, event("CART_ADD", product("p1"), capture("c1")), time.Time{}, cfg)
	if err != nil || !changes.Duplicate {
		t.Errorf("got %+v, %v, want Duplicate and no error", changes, err)
	}
}

func TestApplyEventRejectedIsNotRemembered(t *testing.T) {
	s := projection.Session{}
	cfg := projection.Config{MaxCartProducts: 1}
	apply(t, &s, event("CART_ADD", product("p1"), capture("c1")), cfg)
	if _, err := projection.ApplyEvent(&s, event("CART_ADD", product("p2"), capture("c2")), time.Time{}, cfg); err == nil {
		t.Fatal("got no error for a product beyond the cart limit")
	}
	if slices.Contains(s.Seen, "c2") {
		t.Fatal("a rejected event's captureId was remembered")
	}

	// After room is made, the same record applies.
	apply(t, &s, event("CART_CLEAR", capture("c3")), cfg)
	changes := apply(t, &s, event("CART_ADD", product("p2"), capture("c2")), cfg)
	if changes.Duplicate || s.Cart["p2"] != 1 {
		t.Errorf("changes = %+v, cart = %v, want p2 added", changes, s.Cart)
	}
}

func TestApplyEventCaptureWindowEviction(t *testing.T) {
	s := projection.Session{}
	cfg := projection.Config{CaptureWindow: 3}
	for _, id := range []string{"c1", "c2", "c3", "c4"} {
		apply(t, &s, event("CART_ADD", product("p1"), capture(id)), cfg)
	}
	if want := []string{"c2", "c3", "c4"}; !slices.Equal(s.Seen, want) {
		t.Fatalf("Seen = %q, want %q", s.Seen, want)
	}

	for _, id := range []string{"c2", "c3", "c4"} {
		if changes := apply(t, &s, event("CART_ADD", product("p1"), capture(id)), cfg); !changes.Duplicate {
			t.Errorf("%s inside the window: Duplicate = false", id)
		}
	}

	// c1 left the window, so a late retry of it applies again. This is the
	// documented cost of a bounded window.
	changes := apply(t, &s, event("CART_ADD", product("p1"), capture("c1")), cfg)
	if changes.Duplicate {
		t.Error("c1 outside the window: Duplicate = true")
	}
	if s.Cart["p1"] != 5 {
		t.Errorf("quantity = %d, want 5", s.Cart["p1"])
	}
	if want := []string{"c3", "c4", "c1"}; !slices.Equal(s.Seen, want) {
		t.Errorf("Seen = %q, want %q", s.Seen, want)
	}
}

func TestApplyEventDefaultCaptureWindow(t *testing.T) {
	s := projection.Session{}
	for i := range projection.DefaultCaptureWindow + 10 {
		apply(t, &s, event("PRODUCT_VIEW", capture(fmt.Sprint("c", i))), projection.Config{})
	}
	if len(s.Seen) != projection.DefaultCaptureWindow {
		t.Errorf("Seen holds %d ids, want %d", len(s.Seen), projection.DefaultCaptureWindow)
	}
	if s.Seen[0] != "c10" {
		t.Errorf("oldest id = %q, want c10", s.Seen[0])
	}
}

func TestApplyEventWithoutCaptureID(t *testing.T) {
	s := projection.Session{}
	apply(t, &s, event("CART_ADD", product("p1")), projection.Config{})
	changes := apply(t, &s, event("CART_ADD", product("p1")), projection.Config{})
	if changes.Duplicate {
		t.Error("Duplicate = true for an event without captureId")
	}
	if s.Cart["p1"] != 2 {
		t.Errorf("quantity = %d, want 2", s.Cart["p1"])
	}
	if len(s.Seen) != 0 {
		t.Errorf("Seen = %q, want empty", s.Seen)
	}
}

func TestApplyEventClockClamp(t *testing.T) {
	recordTime := baseTime
	cases := []struct {
		name     string
		offset   time.Duration
		skew     time.Duration
		wantTime time.Time
	}{
		{"on time", 0, 0, baseTime},
		{"behind the record", -time.Hour, 0, baseTime.Add(-time.Hour)},
		{"ahead within the skew", 4 * time.Minute, 0, baseTime.Add(4 * time.Minute)},
		{"ahead exactly the skew", 5 * time.Minute, 0, baseTime.Add(5 * time.Minute)},
		{"ahead beyond the skew", time.Hour, 0, baseTime.Add(5 * time.Minute)},
		{"years ahead", 10 * 365 * 24 * time.Hour, 0, baseTime.Add(5 * time.Minute)},
		{"custom skew", time.Minute, time.Second, baseTime.Add(time.Second)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := projection.Config{MaxClockSkew: c.skew}
			want := c.wantTime.UnixMilli()
			s := projection.Session{}
			for _, e := range []*schemas.Event{
				event("CART_ADD", product("p1"), after(c.offset)),
				event("RATING", int1(5), after(c.offset)),
				event("MOOD", stateful(), str1("x"), public(1000), after(c.offset)),
			} {
				if _, err := projection.ApplyEvent(&s, e, recordTime, cfg); err != nil {
					t.Fatalf("%s: %v", e.EventType, err)
				}
			}
			if s.LastActivity != want {
				t.Errorf("LastActivity = %d, want %d", s.LastActivity, want)
			}
			if s.CartUpdated != want {
				t.Errorf("CartUpdated = %d, want %d", s.CartUpdated, want)
			}
			if s.Rating.Updated != want {
				t.Errorf("Rating.Updated = %d, want %d", s.Rating.Updated, want)
			}
			if v := s.Stateful["MOOD"]; v.Updated != want || v.Expiry != want+1000 {
				t.Errorf("MOOD Updated, Expiry = %d, %d, want %d, %d", v.Updated, v.Expiry, want, want+1000)
			}
		})
	}
}

func TestApplyEventZeroRecordTimeKeepsEventTime(t *testing.T) {
	s := projection.Session{}
	apply(t, &s, event("PRODUCT_VIEW", after(time.Hour)), projection.Config{})
	if want := baseTime.Add(time.Hour).UnixMilli(); s.LastActivity != want {
		t.Errorf("LastActivity = %d, want the unclamped %d", s.LastActivity, want)
	}
}

func TestApplyEventDoesNotChangeEvent(t *testing.T) {
	e := event("MOOD", stateful(), str1("x"), int1(2), public(5), capture("c1"))
	want := *e
	s := projection.Session{}
	apply(t, &s, e, projection.Config{})
	if !reflect.DeepEqual(*e, want) {
		t.Errorf("event changed from %+v to %+v", want, *e)
	}

	// The stored value must not alias the event's pointers.
	*e.Str1 = "changed"
	if got := *s.Stateful["MOOD"].Str; got != "x" {
		t.Errorf("stored value followed the event to %q", got)
	}
}

func TestView(t *testing.T) {
	var s projection.Session
	for name, v := range map[string]schemas.SessionState{"zero": s.View(), "nil": (*projection.Session)(nil).View()} {
		if v.Cart == nil || v.Search == nil {
			t.Errorf("%s session: view %#v has a nil cart or search list", name, v)
		}
	}

	s = projection.Session{Cart: map[string]int64{"p1": 2}, Search: []string{"shoes"}}
	v := s.View()
	if !reflect.DeepEqual(v, schemas.SessionState{Cart: map[string]int64{"p1": 2}, Search: []string{"shoes"}}) {
		t.Errorf("View() = %#v, want cart p1:2 and search [shoes]", v)
	}
	v.Cart["p1"] = 99
	v.Search[0] = "changed"
	if s.Cart["p1"] != 2 || s.Search[0] != "shoes" {
		t.Error("changing the view changed the session")
	}
}

func TestConfigWithDefaults(t *testing.T) {
	want := projection.Config{
		MaxCartProducts: 1000, MaxSearches: 50, MaxStatefulKeys: 64, CaptureWindow: 256, MaxClockSkew: 5 * time.Minute,
		CartTTL: 30 * time.Minute, RatingTTL: 24 * time.Hour,
	}
	if got := (projection.Config{}).WithDefaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("zero config: got %+v, want %+v", got, want)
	}
	negative := projection.Config{MaxCartProducts: -1, MaxSearches: -1, MaxStatefulKeys: -1, CaptureWindow: -1, MaxClockSkew: -time.Second, CartTTL: -1, RatingTTL: -1}
	if got := negative.WithDefaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("negative config: got %+v, want %+v", got, want)
	}
	set := projection.Config{ContactKey: testKey, MaxCartProducts: 1, MaxSearches: 2, MaxStatefulKeys: 3, CaptureWindow: 4, MaxClockSkew: time.Second, CartTTL: time.Minute, RatingTTL: time.Hour}
	if got := set.WithDefaults(); !reflect.DeepEqual(got, set) {
		t.Errorf("explicit config: got %+v, want it unchanged", got)
	}
	if projection.DefaultStatefulExpiry != 24*time.Hour {
		t.Errorf("DefaultStatefulExpiry = %v, want 24h", projection.DefaultStatefulExpiry)
	}
}
