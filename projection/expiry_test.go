package projection_test

import (
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/schemas"
)

// millisAfter returns baseTime plus d in milliseconds since the Unix epoch.
func millisAfter(d time.Duration) int64 { return baseTime.Add(d).UnixMilli() }

// sessionWith applies events to a new session s1 with the default config.
func sessionWith(t *testing.T, events ...*schemas.Event) *projection.Session {
	t.Helper()
	s := &projection.Session{}
	for _, e := range events {
		apply(t, s, e, spaceConfig)
	}
	return s
}

func TestCartExpiry(t *testing.T) {
	s := sessionWith(t, event("CART_ADD", product("p1")))
	if got, want := s.CartExpiry(projection.Config{}), millisAfter(30*time.Minute); got != want {
		t.Errorf("CartExpiry = %d, want %d, 30 minutes after the change", got, want)
	}
	if got, want := s.CartExpiry(projection.Config{CartTTL: time.Minute}), millisAfter(time.Minute); got != want {
		t.Errorf("CartExpiry with a 1 minute CartTTL = %d, want %d", got, want)
	}

	apply(t, s, event("CART_REMOVE", product("p1"), after(10*time.Minute)), spaceConfig)
	if got := s.CartExpiry(projection.Config{}); got != 0 {
		t.Errorf("CartExpiry of an empty cart = %d, want 0", got)
	}
}

func TestCartExpiryFollowsLastChange(t *testing.T) {
	s := sessionWith(t,
		event("CART_ADD", product("p1")),
		event("CART_ADD", product("p2"), after(10*time.Minute)),
		event("CART_REMOVE", product("p2"), after(20*time.Minute)),
		// A change at an older event time leaves the expiry where it is.
		event("CART_ADD", product("p1"), after(5*time.Minute)),
	)
	if got, want := s.CartExpiry(projection.Config{}), millisAfter(50*time.Minute); got != want {
		t.Errorf("CartExpiry = %d, want %d, 30 minutes after the latest change", got, want)
	}

	// Searches, ratings and other events do not keep the cart alive.
	apply(t, s, event("SEARCH", str1("shoes"), after(25*time.Minute)), spaceConfig)
	apply(t, s, event("RATING", int1(3), after(25*time.Minute)), spaceConfig)
	apply(t, s, event("PRODUCT_VIEW", product("p9"), after(25*time.Minute)), spaceConfig)
	if got, want := s.CartExpiry(projection.Config{}), millisAfter(50*time.Minute); got != want {
		t.Errorf("CartExpiry after other events = %d, want %d", got, want)
	}
}

func TestCartExpiryClampedEventTime(t *testing.T) {
	// An event time an hour ahead of its record is clamped to the record
	// time plus the 5 minute skew, so the cart cannot outlive it.
	s := &projection.Session{}
	if _, err := projection.ApplyEvent(s, event("CART_ADD", product("p1"), after(time.Hour)), baseTime, spaceConfig); err != nil {
		t.Fatalf("ApplyEvent: %v", err)
	}
	if got, want := s.CartExpiry(projection.Config{}), millisAfter(35*time.Minute); got != want {
		t.Errorf("CartExpiry = %d, want %d", got, want)
	}
}

func TestRatingExpiry(t *testing.T) {
	s := &projection.Session{}
	if got := s.RatingExpiry(projection.Config{}); got != 0 {
		t.Errorf("RatingExpiry without a rating = %d, want 0", got)
	}

	apply(t, s, event("RATING", int1(4), after(time.Minute)), spaceConfig)
	if got, want := s.RatingExpiry(projection.Config{}), millisAfter(time.Minute+24*time.Hour); got != want {
		t.Errorf("RatingExpiry = %d, want %d, 24 hours after it was given", got, want)
	}
	if got, want := s.RatingExpiry(projection.Config{RatingTTL: time.Hour}), millisAfter(time.Minute+time.Hour); got != want {
		t.Errorf("RatingExpiry with a 1 hour RatingTTL = %d, want %d", got, want)
	}
}

func TestStatefulExpiry(t *testing.T) {
	s := sessionWith(t,
		event("SCORE", stateful(), int1(7), public(90_000)),
		event("COLOR", stateful(), str1("red")),
	)
	if got, want := s.Stateful["SCORE"].Expiry, baseMillis+90_000; got != want {
		t.Errorf("SCORE expiry = %d, want %d, its public milliseconds after the event", got, want)
	}
	if got, want := s.Stateful["COLOR"].Expiry, millisAfter(projection.DefaultStatefulExpiry); got != want {
		t.Errorf("COLOR expiry = %d, want %d, the default without public", got, want)
	}
}

func TestNextExpiry(t *testing.T) {
	cases := []struct {
		name   string
		events []*schemas.Event
		want   int64
	}{
		{name: "nothing", want: 0},
		{name: "searches only", events: []*schemas.Event{event("SEARCH", str1("shoes"))}, want: 0},
		{name: "cart", events: []*schemas.Event{event("CART_ADD", product("p1"))}, want: millisAfter(30 * time.Minute)},
		{name: "rating", events: []*schemas.Event{event("RATING", int1(2))}, want: millisAfter(24 * time.Hour)},
		{
			name: "stateful first",
			events: []*schemas.Event{
				event("CART_ADD", product("p1")), event("RATING", int1(2)),
				event("SCORE", stateful(), int1(1), public(1000)),
			},
			want: baseMillis + 1000,
		},
		{
			name: "cart before rating",
			events: []*schemas.Event{
				event("RATING", int1(2)), event("CART_ADD", product("p1"), after(time.Hour)),
			},
			want: millisAfter(90 * time.Minute),
		},
		{
			name: "string stateful",
			events: []*schemas.Event{
				event("COLOR", stateful(), str1("red"), public(5000)), event("CART_ADD", product("p1")),
			},
			want: baseMillis + 5000,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := sessionWith(t, c.events...)
			if got := projection.NextExpiry(s, projection.Config{}); got != c.want {
				t.Errorf("NextExpiry = %d, want %d", got, c.want)
			}
		})
	}
}

func TestExpireCart(t *testing.T) {
	s := sessionWith(t, event("CART_ADD", product("p1"), int1(2)), event("SEARCH", str1("shoes")))
	expiry := millisAfter(30 * time.Minute)
	version := s.Version

	before := marshal(t, s)
	if changes := projection.Expire(s, expiry-1, projection.Config{}); changes != (projection.Changes{}) {
		t.Errorf("Expire before the expiry = %+v, want no changes", changes)
	}
	checkUnchanged(t, s, before)

	// ViewAt hides the cart from its expiry on, before Expire runs.
	if got := s.ViewAt(expiry-1, projection.Config{}).Cart; !maps.Equal(got, map[string]int64{"p1": 2}) {
		t.Errorf("ViewAt before the expiry: cart = %v, want p1: 2", got)
	}
	view := s.ViewAt(expiry, projection.Config{})
	if view.Cart == nil || len(view.Cart) != 0 {
		t.Errorf("ViewAt at the expiry: cart = %#v, want empty and not nil", view.Cart)
	}
	if !reflect.DeepEqual(view.Search, []string{"shoes"}) {
		t.Errorf("ViewAt at the expiry: search = %v, want [shoes]", view.Search)
	}
	if len(s.Cart) != 1 {
		t.Errorf("ViewAt changed the session's cart to %v", s.Cart)
	}

	changes := projection.Expire(s, expiry, projection.Config{})
	if changes != (projection.Changes{State: true, Contribution: true}) {
		t.Errorf("changes = %+v, want State and Contribution", changes)
	}
	if len(s.Cart) != 0 {
		t.Errorf("cart = %v, want empty", s.Cart)
	}
	if s.Version != version+1 {
		t.Errorf("Version = %d, want %d", s.Version, version+1)
	}
	if !reflect.DeepEqual(s.View(), view) {
		t.Errorf("View after Expire = %+v, want what ViewAt showed: %+v", s.View(), view)
	}
	if got := projection.NextExpiry(s, projection.Config{}); got != 0 {
		t.Errorf("NextExpiry = %d, want 0", got)
	}

	before = marshal(t, s)
	if changes := projection.Expire(s, expiry+1, projection.Config{}); changes != (projection.Changes{}) {
		t.Errorf("second Expire = %+v, want no changes", changes)
	}
	checkUnchanged(t, s, before)
}

func TestExpireCartConfiguredTTL(t *testing.T) {
	cfg := projection.Config{CartTTL: 5 * time.Minute}
	s := sessionWith(t, event("CART_ADD", product("p1")))
	if changes := projection.Expire(s, millisAfter(5*time.Minute)-1, cfg); changes.State {
		t.Error("the cart expired before its 5 minute CartTTL")
	}
	if changes := projection.Expire(s, millisAfter(5*time.Minute), cfg); !changes.State {
		t.Error("the cart did not expire after its 5 minute CartTTL")
	}
}

func TestExpireRating(t *testing.T) {
	s := sessionWith(t, event("RATING", int1(5)), event("SEARCH", str1("shoes")))
	expiry := millisAfter(24 * time.Hour)
	version := s.Version

	if changes := projection.Expire(s, expiry-1, projection.Config{}); changes != (projection.Changes{}) {
		t.Errorf("Expire before the expiry = %+v, want no changes", changes)
	}
	if s.Rating == nil {
		t.Fatal("the rating was removed before its expiry")
	}

	changes := projection.Expire(s, expiry, projection.Config{})
	if changes != (projection.Changes{Contribution: true}) {
		t.Errorf("changes = %+v, want only Contribution: a rating is not session state", changes)
	}
	if s.Rating != nil {
		t.Errorf("rating = %+v, want none", s.Rating)
	}
	if s.Version != version {
		t.Errorf("Version = %d, want %d unchanged", s.Version, version)
	}
}

func TestExpireStateful(t *testing.T) {
	s := sessionWith(t,
		event("SCORE", stateful(), int1(7), public(60_000)),
		event("COLOR", stateful(), str1("red"), public(120_000)),
	)

	if changes := projection.Expire(s, baseMillis+59_999, projection.Config{}); changes != (projection.Changes{}) {
		t.Errorf("Expire before any expiry = %+v, want no changes", changes)
	}
	changes := projection.Expire(s, baseMillis+60_000, projection.Config{})
	if changes != (projection.Changes{Contribution: true}) {
		t.Errorf("changes = %+v, want only Contribution", changes)
	}
	if _, ok := s.Stateful["SCORE"]; ok {
		t.Error("SCORE was kept after its public 60 s")
	}
	if _, ok := s.Stateful["COLOR"]; !ok {
		t.Error("COLOR was removed before its public 120 s")
	}
	if got := projection.NextExpiry(s, projection.Config{}); got != baseMillis+120_000 {
		t.Errorf("NextExpiry = %d, want %d", got, baseMillis+120_000)
	}

	projection.Expire(s, baseMillis+120_000, projection.Config{})
	if len(s.Stateful) != 0 {
		t.Errorf("stateful = %v, want empty", s.Stateful)
	}
}

func TestExpireEverything(t *testing.T) {
	s := sessionWith(t,
		event("CART_ADD", product("p1")), event("RATING", int1(1)),
		event("SCORE", stateful(), int1(7), public(60_000)),
	)
	changes := projection.Expire(s, millisAfter(48*time.Hour), projection.Config{})
	if changes != (projection.Changes{State: true, Contribution: true}) {
		t.Errorf("changes = %+v, want State and Contribution", changes)
	}
	if len(s.Cart) != 0 || s.Rating != nil || len(s.Stateful) != 0 {
		t.Errorf("session keeps cart %v, rating %+v, stateful %v, want nothing", s.Cart, s.Rating, s.Stateful)
	}
	if got := projection.NextExpiry(s, projection.Config{}); got != 0 {
		t.Errorf("NextExpiry = %d, want 0", got)
	}
}

func TestViewAtNilSession(t *testing.T) {
	var s *projection.Session
	got := s.ViewAt(baseMillis, projection.Config{})
	if !reflect.DeepEqual(got, schemas.EmptySessionState()) {
		t.Errorf("ViewAt of a nil session = %+v, want the empty state", got)
	}
}

func TestContributeContact(t *testing.T) {
	s := sessionWith(t, event("CART_ADD", product("p1")))
	if got := projection.Contribute(s, "store-7", false, spaceConfig).Contact; got != "s:s1" {
		t.Errorf("contact without CONTACT_IDENTIFY = %q, want s:s1", got)
	}

	apply(t, s, event("CONTACT_IDENTIFY", str1("email"), str2("ann@example.com")), spaceConfig)
	want := "c:" + projection.HashContact(testKey, "email", "ann@example.com")
	if got := projection.Contribute(s, "store-7", false, spaceConfig).Contact; got != want {
		t.Errorf("contact = %q, want %q", got, want)
	}
}

func TestContributeParts(t *testing.T) {
	s := sessionWith(t,
		event("CART_ADD", product("p1"), int1(2)),
		event("RATING", int1(4), after(time.Minute)),
		event("SCORE", stateful(), int1(-3), public(60_000)),
		event("COLOR", stateful(), str1("red")),
		event("SEARCH", str1("shoes")),
	)
	s.Tenant, s.ID = "t1", "s1"
	c := projection.Contribute(s, "store-7", false, spaceConfig)

	if c.Tenant != "t1" || c.Space != "store-7" || c.Session != "s1" || c.Removed {
		t.Errorf("contribution of %s/%s/%s removed %v, want t1/store-7/s1 not removed", c.Tenant, c.Space, c.Session, c.Removed)
	}
	if !maps.Equal(c.Cart, map[string]int64{"p1": 2}) {
		t.Errorf("cart = %v, want p1: 2", c.Cart)
	}
	if c.CartUpdated != baseMillis {
		t.Errorf("CartUpdated = %d, want %d", c.CartUpdated, baseMillis)
	}
	if want := millisAfter(30 * time.Minute); c.CartExpiry != want {
		t.Errorf("CartExpiry = %d, want %d", c.CartExpiry, want)
	}
	want := map[string]projection.Number{
		schemas.KeyRating: {Value: 4, Updated: millisAfter(time.Minute), Expiry: millisAfter(time.Minute + 24*time.Hour)},
		"SCORE":           {Value: -3, Updated: baseMillis, Expiry: baseMillis + 60_000},
	}
	if !reflect.DeepEqual(c.Numbers, want) {
		t.Errorf("numbers = %+v, want %+v", c.Numbers, want)
	}

	// The contribution owns its cart.
	c.Cart["p1"] = 99
	if s.Cart["p1"] != 2 {
		t.Errorf("changing the contribution changed the session's cart to %v", s.Cart)
	}
}

func TestContributeEmpty(t *testing.T) {
	s := sessionWith(t, event("SEARCH", str1("shoes")))
	c := projection.Contribute(s, "store-7", false, spaceConfig)
	if c.Cart != nil || c.CartUpdated != 0 || c.CartExpiry != 0 || c.Numbers != nil {
		t.Errorf("contribution = %+v, want no cart and no numbers", c)
	}
}

func TestContributeRemoved(t *testing.T) {
	s := sessionWith(t, event("CART_ADD", product("p1")), event("RATING", int1(4)))
	c := projection.Contribute(s, "store-7", true, spaceConfig)
	if !c.Removed || c.Contact != "" || c.Cart != nil || c.Numbers != nil {
		t.Errorf("removal = %+v, want Removed and nothing else", c)
	}
}

func TestContributeVersionGrows(t *testing.T) {
	s := &projection.Session{}
	last := projection.Contribute(s, "store-7", false, spaceConfig).Version
	grew := func(step string) {
		t.Helper()
		v := projection.Contribute(s, "store-7", false, spaceConfig).Version
		if v <= last {
			t.Errorf("after %s the version is %d, want above %d", step, v, last)
		}
		last = v
	}

	applySession(t, s, sessionRecord("2019-10-01T11:00:00Z", "store-7", "c1", "cap-s"))
	grew("the session record")
	apply(t, s, event("CART_ADD", product("p1"), capture("e1")), spaceConfig)
	grew("a cart change")
	apply(t, s, event("RATING", int1(3), capture("e2")), spaceConfig)
	grew("a rating")
	projection.Expire(s, millisAfter(30*time.Minute), projection.Config{})
	grew("the cart expiry")
	projection.Expire(s, millisAfter(24*time.Hour), projection.Config{})
	grew("the rating expiry")
	apply(t, s, event("CART_ADD", product("p1"), capture("e3"), after(25*time.Hour)), spaceConfig)
	grew("a cart change after the expiries")

	// A duplicate event and an Expire that removes nothing keep the version,
	// so the space stage need not apply the same contribution again.
	if changes := apply(t, s, event("CART_ADD", product("p1"), capture("e3")), spaceConfig); !changes.Duplicate {
		t.Fatalf("changes = %+v, want Duplicate", changes)
	}
	projection.Expire(s, millisAfter(25*time.Hour), projection.Config{})
	if v := projection.Contribute(s, "store-7", false, spaceConfig).Version; v != last {
		t.Errorf("version = %d after a duplicate and an empty expiry, want %d", v, last)
	}
}

func TestContributeExpiredThenApplied(t *testing.T) {
	// The space stage drops what expired before the contribution arrives,
	// whether or not the session has run Expire.
	s := sessionInSpace(t, "t1", "s1", "store-7", event("CART_ADD", product("p1")), event("RATING", int1(2)))
	now := millisAfter(time.Hour)

	late := &projection.Space{}
	applyContribution(t, late, contribution(s), now)
	projection.Expire(s, now, spaceConfig)
	expired := &projection.Space{}
	applyContribution(t, expired, contribution(s), now)

	if a, b := string(marshalJSON(t, late.View(now))), string(marshalJSON(t, expired.View(now))); a != b {
		t.Errorf("state before the session's Expire %s, after %s, want the same", a, b)
	}
	if got := late.View(now).Cart; len(got) != 0 {
		t.Errorf("cart = %v, want empty", got)
	}
}

// at sets the event time of a test event.
func at(when time.Time) option {
	return func(e *schemas.Event) {
		e.Time = when
		e.EventTime = when.Format(time.RFC3339Nano)
	}
}

func TestExpireBeforeEpoch(t *testing.T) {
	// A device whose clock was reset sends times before 1970, so expiry
	// instants can be zero or negative. Such values have expired long ago.
	for name, when := range map[string]time.Time{
		"expiry zero":     time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC),
		"expiry negative": time.Date(1969, 12, 30, 0, 0, 0, 0, time.UTC),
	} {
		t.Run(name, func(t *testing.T) {
			s := sessionWith(t,
				event("RATING", int1(2), at(when)),
				event("SCORE", stateful(), int1(1), public(24*time.Hour.Milliseconds()), at(when)),
			)
			if got := projection.NextExpiry(s, projection.Config{}); got != 1 {
				t.Errorf("NextExpiry = %d, want 1, an instant that is due at once", got)
			}

			changes := projection.Expire(s, baseMillis, projection.Config{})
			if changes != (projection.Changes{Contribution: true}) {
				t.Errorf("changes = %+v, want Contribution", changes)
			}
			if s.Rating != nil || len(s.Stateful) != 0 {
				t.Errorf("session keeps rating %+v and stateful %v, want neither", s.Rating, s.Stateful)
			}
			if got := projection.NextExpiry(s, projection.Config{}); got != 0 {
				t.Errorf("NextExpiry after Expire = %d, want 0", got)
			}
		})
	}
}
