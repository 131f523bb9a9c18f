package projection_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/schemas"
)

// spaceConfig is the config of the space tests: the defaults, with a
// contact key so that CONTACT_IDENTIFY works.
var spaceConfig = projection.Config{ContactKey: testKey}

// spaceNow is the space stage's clock in most space tests, one second after
// baseTime.
var spaceNow = baseMillis + 1000

// inSession moves a test event to session id.
func inSession(id string) option { return func(e *schemas.Event) { e.SessionID = id } }

// sessionInSpace builds session id of tenantID from a session record that
// puts it in space, followed by events. The events are moved to the session
// and its tenant.
func sessionInSpace(t *testing.T, tenantID, id, space string, events ...*schemas.Event) *projection.Session {
	t.Helper()
	s := &projection.Session{}
	r := sessionRecord("2019-10-01T11:00:00Z", space, "c1", "cap-"+id)
	r.TenantID, r.SessionID = tenantID, id
	if _, err := projection.ApplySession(s, r, spaceConfig); err != nil {
		t.Fatalf("ApplySession(%s): %v", id, err)
	}
	for _, e := range events {
		e.TenantID, e.SessionID = tenantID, id
		apply(t, s, e, spaceConfig)
	}
	return s
}

// contribution returns the part of s in its current space.
func contribution(s *projection.Session) projection.Contribution {
	return projection.Contribute(s, s.SpaceID, false, spaceConfig)
}

// applyContribution applies c to sp at now, failing the test on error.
func applyContribution(t *testing.T, sp *projection.Space, c projection.Contribution, now int64) bool {
	t.Helper()
	changed, err := projection.ApplyContribution(sp, c, now)
	if err != nil {
		t.Fatalf("ApplyContribution(%s v%d): %v", c.Session, c.Version, err)
	}
	return changed
}

// spaceOf applies the current contribution of every session to a new space
// at now.
func spaceOf(t *testing.T, now int64, sessions ...*projection.Session) *projection.Space {
	t.Helper()
	sp := &projection.Space{}
	for _, s := range sessions {
		applyContribution(t, sp, contribution(s), now)
	}
	return sp
}

func marshalSpace(t *testing.T, sp *projection.Space) []byte {
	t.Helper()
	b, err := projection.MarshalSpace(sp)
	if err != nil {
		t.Fatalf("MarshalSpace: %v", err)
	}
	return b
}

func marshalJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%T): %v", v, err)
	}
	return b
}

// decodeJSON decodes b into generic maps, with numbers as json.Number so
// that a test can tell a number from a string.
func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// rfc3339 formats milliseconds since the Unix epoch as View and RowsView do.
func rfc3339(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}

// stateFingerprint encodes what a space shows at now, its Rows and its
// state without the Version counter, which counts changes and so depends on
// the order of the contributions.
func stateFingerprint(t *testing.T, sp *projection.Space, now int64) string {
	t.Helper()
	rows := *sp
	rows.Version = 0
	return string(marshalJSON(t, sp.View(now))) + "\n" +
		string(marshalJSON(t, sp.RowsView(now))) + "\n" +
		string(marshalSpace(t, &rows)[1:])
}

func TestSpaceCartSumsSessions(t *testing.T) {
	s1 := sessionInSpace(t, "t1", "s1", "store-7", event("CART_ADD", product("p1")), event("CART_ADD", product("p2"), int1(3)))
	s2 := sessionInSpace(t, "t1", "s2", "store-7", event("CART_ADD", product("p1")))
	sp := spaceOf(t, spaceNow, s1, s2)

	got := sp.View(spaceNow).Cart
	want := map[string]schemas.ProductTotal{
		"p1": {Quantity: 2, Contacts: 2},
		"p2": {Quantity: 3, Contacts: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cart = %+v, want %+v", got, want)
	}
}

func TestSpaceCartSamePersonCountsOnce(t *testing.T) {
	identify := func() *schemas.Event {
		return event("CONTACT_IDENTIFY", str1("email"), str2("ann@example.com"))
	}
	s1 := sessionInSpace(t, "t1", "s1", "store-7", identify(), event("CART_ADD", product("p1")))
	s2 := sessionInSpace(t, "t1", "s2", "store-7", event("CART_ADD", product("p1")), identify())
	if s1.Contact == "" || s1.Contact != s2.Contact {
		t.Fatalf("contacts %q and %q, want one non-empty contact hash", s1.Contact, s2.Contact)
	}
	sp := spaceOf(t, spaceNow, s1, s2)

	got := sp.View(spaceNow).Cart["p1"]
	if want := (schemas.ProductTotal{Quantity: 2, Contacts: 1}); got != want {
		t.Errorf("p1 = %+v, want %+v", got, want)
	}
}

func TestSpaceContactChangeRecounts(t *testing.T) {
	s1 := sessionInSpace(t, "t1", "s1", "store-7", event("CART_ADD", product("p1")))
	s2 := sessionInSpace(t, "t1", "s2", "store-7", event("CART_ADD", product("p1")))
	sp := spaceOf(t, spaceNow, s1, s2)
	before := sp.Version

	for _, s := range []*projection.Session{s1, s2} {
		apply(t, s, event("CONTACT_IDENTIFY", inSession(s.ID), str1("phone"), str2("+358401234567")), spaceConfig)
		applyContribution(t, sp, contribution(s), spaceNow)
	}
	if got := sp.View(spaceNow).Cart["p1"].Contacts; got != 1 {
		t.Errorf("contacts = %d, want 1 once both sessions identify the same person", got)
	}
	if sp.Version <= before {
		t.Errorf("Version = %d, want above %d after the contact count changed", sp.Version, before)
	}
}

func TestSpaceContactChangeWithoutCart(t *testing.T) {
	s := sessionInSpace(t, "t1", "s1", "store-7", event("RATING", int1(4)))
	sp := spaceOf(t, spaceNow, s)
	before := sp.Version

	apply(t, s, event("CONTACT_IDENTIFY", inSession("s1"), str1("email"), str2("ann@example.com")), spaceConfig)
	if changed := applyContribution(t, sp, contribution(s), spaceNow); changed {
		t.Error("a new contact of a session without a cart changed the space state")
	}
	if sp.Version != before {
		t.Errorf("Version = %d, want %d", sp.Version, before)
	}
}

// ratedSessions returns three sessions of store-7 that rate 2, 4 and 5, one
// minute apart from baseTime on.
func ratedSessions(t *testing.T) []*projection.Session {
	return []*projection.Session{
		sessionInSpace(t, "t1", "r1", "store-7", event("RATING", int1(2))),
		sessionInSpace(t, "t1", "r2", "store-7", event("RATING", int1(4), after(time.Minute))),
		sessionInSpace(t, "t1", "r3", "store-7", event("RATING", int1(5), after(2*time.Minute))),
	}
}

func TestSpaceRatingAggregate(t *testing.T) {
	sp := spaceOf(t, spaceNow, ratedSessions(t)...)
	rating, ok := sp.View(spaceNow).Numbers[schemas.KeyRating]
	if !ok {
		t.Fatal("space state has no RATING")
	}

	if rating.Type != "number" {
		t.Errorf("type = %q, want number", rating.Type)
	}
	if rating.Value.Min != 2 {
		t.Errorf("min = %d, want 2", rating.Value.Min)
	}
	if rating.Value.Max != 5 {
		t.Errorf("max = %d, want 5", rating.Value.Max)
	}
	if math.Abs(rating.Value.Mean-3.6667) > 0.00005 {
		t.Errorf("mean = %v, want 3.6667", rating.Value.Mean)
	}
	if rating.Value.Length != 3 {
		t.Errorf("length = %d, want 3", rating.Value.Length)
	}
	if want := "2019-10-01T12:00:00Z"; rating.Created != want {
		t.Errorf("created = %q, want %q", rating.Created, want)
	}
	if want := "2019-10-01T12:02:00Z"; rating.Updated != want {
		t.Errorf("updated = %q, want %q", rating.Updated, want)
	}
	lastExpiry := baseTime.Add(2*time.Minute + 24*time.Hour).UnixMilli()
	if rating.Expiry != lastExpiry {
		t.Errorf("expiry = %d, want %d, when the last rating expires", rating.Expiry, lastExpiry)
	}
}

func TestSpaceRatingExpiry(t *testing.T) {
	sp := spaceOf(t, spaceNow, ratedSessions(t)...)
	firstExpiry := baseTime.Add(24 * time.Hour).UnixMilli()
	if got := projection.NextSpaceExpiry(sp); got != firstExpiry {
		t.Errorf("NextSpaceExpiry = %d, want %d", got, firstExpiry)
	}

	// One millisecond before, the first rating still counts.
	if got := sp.View(firstExpiry - 1).Numbers[schemas.KeyRating].Value.Length; got != 3 {
		t.Errorf("length before the first expiry = %d, want 3", got)
	}
	if changed := projection.ExpireSpace(sp, firstExpiry-1); changed {
		t.Error("ExpireSpace before the first expiry reported a change")
	}

	rating := sp.View(firstExpiry).Numbers[schemas.KeyRating]
	if rating.Value.Length != 2 || rating.Value.Min != 4 || rating.Value.Max != 5 || rating.Value.Mean != 4.5 {
		t.Errorf("rating at the first expiry = %+v, want length 2, min 4, max 5, mean 4.5", rating.Value)
	}
	if want := "2019-10-01T12:01:00Z"; rating.Created != want {
		t.Errorf("created = %q, want %q, the earliest live rating", rating.Created, want)
	}
	if _, ok := sp.RowsView(firstExpiry).Rating["r1"]; ok {
		t.Error("RowsView still lists the expired rating of r1")
	}

	version := sp.Version
	if changed := projection.ExpireSpace(sp, firstExpiry); !changed {
		t.Error("ExpireSpace did not report removing the expired rating")
	}
	if sp.Version != version+1 {
		t.Errorf("Version = %d, want %d", sp.Version, version+1)
	}
	if _, ok := sp.Rows["r1"].Numbers[schemas.KeyRating]; ok {
		t.Error("ExpireSpace kept the expired rating of r1")
	}
	if changed := projection.ExpireSpace(sp, firstExpiry); changed {
		t.Error("a second ExpireSpace at the same time reported a change")
	}
	if sp.Version != version+1 {
		t.Errorf("Version = %d after a second ExpireSpace, want %d", sp.Version, version+1)
	}

	secondExpiry := baseTime.Add(time.Minute + 24*time.Hour).UnixMilli()
	if got := projection.NextSpaceExpiry(sp); got != secondExpiry {
		t.Errorf("NextSpaceExpiry = %d, want %d", got, secondExpiry)
	}

	lastExpiry := baseTime.Add(2*time.Minute + 24*time.Hour).UnixMilli()
	if changed := projection.ExpireSpace(sp, lastExpiry); !changed {
		t.Error("ExpireSpace did not report removing the last ratings")
	}
	if got := projection.NextSpaceExpiry(sp); got != 0 {
		t.Errorf("NextSpaceExpiry of an expired space = %d, want 0", got)
	}
	if got := string(marshalJSON(t, sp.View(lastExpiry))); got != `{"CART":{}}` {
		t.Errorf("expired space state = %s, want {\"CART\":{}}", got)
	}
}

func TestSpaceCartExpiry(t *testing.T) {
	s1 := sessionInSpace(t, "t1", "s1", "store-7", event("CART_ADD", product("p1")))
	s2 := sessionInSpace(t, "t1", "s2", "store-7", event("CART_ADD", product("p1"), after(10*time.Minute)))
	sp := spaceOf(t, spaceNow, s1, s2)

	first := baseTime.Add(30 * time.Minute).UnixMilli()
	second := baseTime.Add(40 * time.Minute).UnixMilli()
	if got := projection.NextSpaceExpiry(sp); got != first {
		t.Errorf("NextSpaceExpiry = %d, want %d", got, first)
	}
	if got := sp.View(first - 1).Cart["p1"]; got != (schemas.ProductTotal{Quantity: 2, Contacts: 2}) {
		t.Errorf("p1 before the first expiry = %+v, want quantity 2, contacts 2", got)
	}
	if got := sp.View(first).Cart["p1"]; got != (schemas.ProductTotal{Quantity: 1, Contacts: 1}) {
		t.Errorf("p1 at the first expiry = %+v, want quantity 1, contacts 1", got)
	}
	if _, ok := sp.RowsView(first).Cart["s1"]; ok {
		t.Error("RowsView still lists the expired cart of s1")
	}

	if !projection.ExpireSpace(sp, first) {
		t.Error("ExpireSpace did not report removing the expired cart")
	}
	if got := sp.Rows["s1"].Cart; len(got) != 0 {
		t.Errorf("cart of s1 after ExpireSpace = %v, want empty", got)
	}
	if got := projection.NextSpaceExpiry(sp); got != second {
		t.Errorf("NextSpaceExpiry = %d, want %d", got, second)
	}
	if !projection.ExpireSpace(sp, second) {
		t.Error("ExpireSpace did not report removing the last cart")
	}
	if got := sp.View(second).Cart; len(got) != 0 {
		t.Errorf("cart after every expiry = %v, want empty", got)
	}
}

func TestSpaceCartExpiryMoves(t *testing.T) {
	// A cart that ends up with the same products after a later change still
	// expires later, and getSpaceStateRows shows the new times.
	s := sessionInSpace(t, "t1", "s1", "store-7", event("CART_ADD", product("p1")))
	sp := spaceOf(t, spaceNow, s)
	version := sp.Version

	apply(t, s, event("CART_ADD", inSession("s1"), product("p1"), after(10*time.Minute)), spaceConfig)
	apply(t, s, event("CART_REMOVE", inSession("s1"), product("p1"), int1(1), after(10*time.Minute)), spaceConfig)
	if changed := applyContribution(t, sp, contribution(s), spaceNow); !changed {
		t.Error("a later cart expiry was not reported as a change")
	}
	if sp.Version != version+1 {
		t.Errorf("Version = %d, want %d", sp.Version, version+1)
	}

	row := sp.RowsView(spaceNow).Cart["s1"]
	if want := rfc3339(baseTime.Add(40 * time.Minute).UnixMilli()); row.Expiry != want {
		t.Errorf("row expiry = %q, want %q", row.Expiry, want)
	}
	if want := rfc3339(baseTime.Add(10 * time.Minute).UnixMilli()); row.Updated != want {
		t.Errorf("row updated = %q, want %q", row.Updated, want)
	}
	if got, want := projection.NextSpaceExpiry(sp), baseTime.Add(40*time.Minute).UnixMilli(); got != want {
		t.Errorf("NextSpaceExpiry = %d, want %d", got, want)
	}
}

func TestApplyContributionStale(t *testing.T) {
	s := sessionInSpace(t, "t1", "s1", "store-7", event("CART_ADD", product("p1")))
	old := contribution(s)
	apply(t, s, event("CART_ADD", inSession("s1"), product("p1")), spaceConfig)
	current := contribution(s)
	if current.Version <= old.Version {
		t.Fatalf("contribution versions %d then %d, want growing", old.Version, current.Version)
	}

	sp := spaceOf(t, spaceNow, s)
	before := marshalSpace(t, sp)
	for name, c := range map[string]projection.Contribution{"older": old, "same version": current} {
		changed, err := projection.ApplyContribution(sp, c, spaceNow)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if changed {
			t.Errorf("%s contribution reported a change", name)
		}
		if after := marshalSpace(t, sp); !bytes.Equal(before, after) {
			t.Errorf("%s contribution changed the space:\nbefore %s\nafter  %s", name, before[1:], after[1:])
		}
	}
	if got := sp.View(spaceNow).Cart["p1"].Quantity; got != 2 {
		t.Errorf("quantity = %d, want 2 from the newest contribution", got)
	}
}

func TestApplyContributionRemoved(t *testing.T) {
	s1 := sessionInSpace(t, "t1", "s1", "store-7", event("CART_ADD", product("p1")), event("RATING", int1(5)))
	s2 := sessionInSpace(t, "t1", "s2", "store-7", event("CART_ADD", product("p1")))
	sp := spaceOf(t, spaceNow, s1, s2)
	version := sp.Version

	// An earlier session record moves s1 to store-3, so the caller
	// withdraws it from store-7.
	r := sessionRecord("2019-10-01T10:00:00Z", "store-3", "c1", "cap-move")
	r.SessionID = "s1"
	changes, err := projection.ApplySession(s1, r, spaceConfig)
	if err != nil {
		t.Fatalf("ApplySession: %v", err)
	}
	if changes.PreviousSpaceID != "store-7" {
		t.Fatalf("PreviousSpaceID = %q, want store-7", changes.PreviousSpaceID)
	}
	removal := projection.Contribute(s1, changes.PreviousSpaceID, true, spaceConfig)
	if !removal.Removed || removal.Cart != nil || removal.Numbers != nil {
		t.Errorf("removal = %+v, want Removed and no parts", removal)
	}

	if changed := applyContribution(t, sp, removal, spaceNow); !changed {
		t.Error("withdrawing a session did not report a change")
	}
	if sp.Version != version+1 {
		t.Errorf("Version = %d, want %d", sp.Version, version+1)
	}
	state := sp.View(spaceNow)
	if got := state.Cart["p1"]; got != (schemas.ProductTotal{Quantity: 1, Contacts: 1}) {
		t.Errorf("p1 = %+v, want only s2's", got)
	}
	if _, ok := state.Numbers[schemas.KeyRating]; ok {
		t.Error("the rating of the withdrawn session still counts")
	}
	rows := sp.RowsView(spaceNow)
	if _, ok := rows.Cart["s1"]; ok {
		t.Error("RowsView still lists the cart of the withdrawn session")
	}

	// The session's older contributions cannot bring it back.
	stale := projection.Contribution{Tenant: "t1", Space: "store-7", Session: "s1", Version: removal.Version - 1, Contact: "s:s1", Cart: map[string]int64{"p1": 1}, CartExpiry: baseMillis + 3_600_000}
	if changed := applyContribution(t, sp, stale, spaceNow); changed {
		t.Error("an older contribution brought back the withdrawn session")
	}
	if got := sp.View(spaceNow).Cart["p1"].Quantity; got != 1 {
		t.Errorf("quantity = %d after a stale contribution, want 1", got)
	}
}

func TestApplyContributionExpiredParts(t *testing.T) {
	s := sessionInSpace(t, "t1", "s1", "store-7",
		event("CART_ADD", product("p1")), event("RATING", int1(3)), event("SCORE", stateful(), int1(7), public(60_000)))
	c := contribution(s)
	now := baseTime.Add(24 * time.Hour).UnixMilli()

	sp := &projection.Space{}
	if changed := applyContribution(t, sp, c, now); changed {
		t.Error("a contribution of expired parts reported a change")
	}
	if sp.Version != 0 {
		t.Errorf("Version = %d, want 0", sp.Version)
	}
	if got := string(marshalJSON(t, sp.View(now))); got != `{"CART":{}}` {
		t.Errorf("state = %s, want {\"CART\":{}}", got)
	}
	if got := projection.NextSpaceExpiry(sp); got != 0 {
		t.Errorf("NextSpaceExpiry = %d, want 0", got)
	}

	// The empty row still rejects the same contribution.
	if changed := applyContribution(t, sp, c, spaceNow); changed {
		t.Error("the same contribution applied again at an earlier time reported a change")
	}
	if got := len(sp.View(spaceNow).Cart); got != 0 {
		t.Errorf("cart has %d products, want none", got)
	}
}

func TestApplyContributionPartlyExpired(t *testing.T) {
	s := sessionInSpace(t, "t1", "s1", "store-7",
		event("CART_ADD", product("p1")), event("RATING", int1(3)), event("SCORE", stateful(), int1(7), public(60_000)))
	now := baseTime.Add(time.Hour).UnixMilli()
	sp := spaceOf(t, now, s)

	state := sp.View(now)
	if len(state.Cart) != 0 {
		t.Errorf("cart = %v, want empty: it expired after 30 minutes", state.Cart)
	}
	if _, ok := state.Numbers["SCORE"]; ok {
		t.Error("SCORE still counts after its 60 s expiry")
	}
	if got := state.Numbers[schemas.KeyRating].Value.Length; got != 1 {
		t.Errorf("RATING length = %d, want 1", got)
	}
	if got, want := projection.NextSpaceExpiry(sp), baseTime.Add(24*time.Hour).UnixMilli(); got != want {
		t.Errorf("NextSpaceExpiry = %d, want %d, the rating's", got, want)
	}
}

func TestApplyContributionOtherTenant(t *testing.T) {
	a := sessionInSpace(t, "t1", "s1", "store-7", event("CART_ADD", product("p1")))
	b := sessionInSpace(t, "t2", "s1", "store-7", event("CART_ADD", product("p1"), int1(5)))
	sp := spaceOf(t, spaceNow, a)
	before := marshalSpace(t, sp)

	changed, err := projection.ApplyContribution(sp, contribution(b), spaceNow)
	if !errors.Is(err, projection.ErrWrongSession) {
		t.Errorf("error = %v, want ErrWrongSession", err)
	}
	if changed {
		t.Error("a contribution of another tenant reported a change")
	}
	checkSpaceUnchanged(t, sp, before)

	other := contribution(a)
	other.Space = "store-8"
	if _, err := projection.ApplyContribution(sp, other, spaceNow); !errors.Is(err, projection.ErrWrongSession) {
		t.Errorf("error for another space = %v, want ErrWrongSession", err)
	}
	checkSpaceUnchanged(t, sp, before)

	if sp.Tenant != "t1" || sp.ID != "store-7" {
		t.Errorf("space = %s/%s, want t1/store-7", sp.Tenant, sp.ID)
	}
	if got := sp.View(spaceNow).Cart["p1"]; got != (schemas.ProductTotal{Quantity: 1, Contacts: 1}) {
		t.Errorf("p1 = %+v, want tenant t1's only", got)
	}
}

func checkSpaceUnchanged(t *testing.T, sp *projection.Space, before []byte) {
	t.Helper()
	if after := marshalSpace(t, sp); !bytes.Equal(before, after) {
		t.Errorf("space changed:\nbefore %s\nafter  %s", before[1:], after[1:])
	}
}

// orderTestContributions returns contributions of four sessions of store-7,
// several of one session and some twice, and the time to apply them at.
func orderTestContributions(t *testing.T) []projection.Contribution {
	a := sessionInSpace(t, "t1", "a", "store-7", event("CART_ADD", product("p1"), int1(2)))
	a1 := contribution(a)
	apply(t, a, event("RATING", inSession("a"), int1(3)), spaceConfig)
	a2 := contribution(a)
	apply(t, a, event("CART_REMOVE", inSession("a"), product("p1"), int1(1)), spaceConfig)
	a3 := contribution(a)

	b := sessionInSpace(t, "t1", "b", "store-7",
		event("CART_ADD", product("p1")), event("CONTACT_IDENTIFY", str1("email"), str2("ann@example.com")))
	b1 := contribution(b)
	r := sessionRecord("2019-10-01T10:00:00Z", "store-3", "c1", "cap-move")
	r.SessionID = "b"
	if _, err := projection.ApplySession(b, r, spaceConfig); err != nil {
		t.Fatalf("ApplySession: %v", err)
	}
	bRemoved := projection.Contribute(b, "store-7", true, spaceConfig)

	c := sessionInSpace(t, "t1", "c", "store-7",
		event("SCORE", stateful(), int1(10), public(3_600_000)), event("CART_ADD", product("p2"), int1(4)))
	c1 := contribution(c)

	d := sessionInSpace(t, "t1", "d", "store-7", event("CART_ADD", product("p3"), after(-time.Hour)))
	d1 := contribution(d)

	return []projection.Contribution{a1, a2, a3, b1, bRemoved, c1, c1, d1, a2}
}

func TestApplyContributionOrderIndependent(t *testing.T) {
	contributions := orderTestContributions(t)
	want := spaceOf(t, spaceNow)
	for _, c := range contributions {
		applyContribution(t, want, c, spaceNow)
	}
	wantState := stateFingerprint(t, want, spaceNow)

	state := want.View(spaceNow)
	if got := state.Cart; !reflect.DeepEqual(got, map[string]schemas.ProductTotal{"p1": {Quantity: 1, Contacts: 1}, "p2": {Quantity: 4, Contacts: 1}}) {
		t.Errorf("cart = %+v, want p1 from a's newest contribution and p2 from c", got)
	}
	if got := state.Numbers[schemas.KeyRating].Value.Length; got != 1 {
		t.Errorf("RATING length = %d, want 1", got)
	}
	if got := state.Numbers["SCORE"].Value.Max; got != 10 {
		t.Errorf("SCORE max = %d, want 10", got)
	}

	// Every order of the first seven, then random orders of all of them.
	orders := permutations(7)
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		orders = append(orders, r.Perm(len(contributions)))
	}
	for _, order := range orders {
		sp := &projection.Space{}
		for _, i := range order {
			applyContribution(t, sp, contributions[i], spaceNow)
		}
		if len(order) == 7 {
			for _, i := range []int{7, 8} {
				applyContribution(t, sp, contributions[i], spaceNow)
			}
		}
		if got := stateFingerprint(t, sp, spaceNow); got != wantState {
			t.Fatalf("order %v gives\n%s\nwant\n%s", order, got, wantState)
		}
	}
}

func TestApplyContributionRepeated(t *testing.T) {
	contributions := orderTestContributions(t)
	sp := &projection.Space{}
	for _, c := range contributions {
		applyContribution(t, sp, c, spaceNow)
	}
	before := marshalSpace(t, sp)

	for _, c := range contributions {
		if changed := applyContribution(t, sp, c, spaceNow); changed {
			t.Errorf("contribution %s v%d applied again reported a change", c.Session, c.Version)
		}
	}
	checkSpaceUnchanged(t, sp, before)
}

func TestSpaceStatefulNumbers(t *testing.T) {
	s1 := sessionInSpace(t, "t1", "s1", "store-7",
		event("SCORE", stateful(), int1(10), public(60_000)), event("COLOR", stateful(), str1("red")))
	s2 := sessionInSpace(t, "t1", "s2", "store-7",
		event("SCORE", stateful(), int1(-4), public(120_000), after(time.Second)))
	sp := spaceOf(t, spaceNow, s1, s2)

	state := sp.View(spaceNow)
	score, ok := state.Numbers["SCORE"]
	if !ok {
		t.Fatal("space state has no SCORE")
	}
	if score.Type != "number" || score.Value.Min != -4 || score.Value.Max != 10 || score.Value.Mean != 3 || score.Value.Length != 2 {
		t.Errorf("SCORE = %+v, want number with min -4, max 10, mean 3, length 2", score)
	}
	if want := baseMillis + 1000 + 120_000; score.Expiry != want {
		t.Errorf("SCORE expiry = %d, want %d", score.Expiry, want)
	}
	if want := "2019-10-01T12:00:01Z"; score.Updated != want {
		t.Errorf("SCORE updated = %q, want %q", score.Updated, want)
	}
	if _, ok := state.Numbers["COLOR"]; ok {
		t.Error("the string stateful key COLOR was aggregated")
	}
	if _, ok := state.Numbers[schemas.KeyRating]; ok {
		t.Error("space state has a RATING without ratings")
	}
	if _, ok := sp.RowsView(spaceNow).Rating["s1"]; ok {
		t.Error("RowsView lists SCORE as a rating")
	}

	// s1's value expires after its public 60 s.
	expiry := baseMillis + 60_000
	if got := projection.NextSpaceExpiry(sp); got != expiry {
		t.Errorf("NextSpaceExpiry = %d, want %d", got, expiry)
	}
	if got := sp.View(expiry).Numbers["SCORE"].Value; got.Length != 1 || got.Min != -4 {
		t.Errorf("SCORE at s1's expiry = %+v, want only s2's -4", got)
	}
}

func TestSpaceStatefulTurnsString(t *testing.T) {
	s := sessionInSpace(t, "t1", "s1", "store-7", event("SCORE", stateful(), int1(10)))
	sp := spaceOf(t, spaceNow, s)
	apply(t, s, event("SCORE", inSession("s1"), stateful(), str1("high")), spaceConfig)

	if changed := applyContribution(t, sp, contribution(s), spaceNow); !changed {
		t.Error("replacing a number with a string did not report a change")
	}
	if _, ok := sp.View(spaceNow).Numbers["SCORE"]; ok {
		t.Error("SCORE is still aggregated after it became a string")
	}
}

func TestSpaceStateJSON(t *testing.T) {
	rated := ratedSessions(t)
	carts := []*projection.Session{
		sessionInSpace(t, "t1", "s1", "store-7", event("CART_ADD", product("p1"))),
		sessionInSpace(t, "t1", "s2", "store-7", event("CART_ADD", product("p1"))),
	}
	sp := spaceOf(t, spaceNow, append(rated, carts...)...)
	b := marshalJSON(t, sp.View(spaceNow))

	got := decodeJSON(t, b)
	want := map[string]any{
		"RATING": map[string]any{
			"type": "number",
			"value": map[string]any{
				"min": json.Number("2"), "max": json.Number("5"),
				"mean":   json.Number(string(marshalJSON(t, 11.0/3))),
				"length": json.Number("3"),
			},
			"expiry":  json.Number(string(marshalJSON(t, baseTime.Add(2*time.Minute+24*time.Hour).UnixMilli()))),
			"created": "2019-10-01T12:00:00Z",
			"updated": "2019-10-01T12:02:00Z",
		},
		"CART": map[string]any{
			"p1": map[string]any{"quantity": json.Number("2"), "contacts": json.Number("2")},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("space state JSON = %s\nwant %s", b, marshalJSON(t, want))
	}
}

func TestSpaceStateEmptyJSON(t *testing.T) {
	var nilSpace *projection.Space
	for name, state := range map[string]schemas.SpaceState{
		"zero value":  {},
		"empty space": (&projection.Space{}).View(spaceNow),
		"nil space":   nilSpace.View(spaceNow),
	} {
		if got := string(marshalJSON(t, state)); got != `{"CART":{}}` {
			t.Errorf("%s marshals as %s, want {\"CART\":{}}", name, got)
		}
	}
}

func TestSpaceStateUnmarshalRoundTrip(t *testing.T) {
	s := sessionInSpace(t, "t1", "s1", "store-7", event("CART_ADD", product("p1"), int1(2)), event("SCORE", stateful(), int1(9)))
	sp := spaceOf(t, spaceNow, append(ratedSessions(t), s)...)
	want := sp.View(spaceNow)

	var got schemas.SpaceState
	if err := json.Unmarshal(marshalJSON(t, want), &got); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip = %+v, want %+v", got, want)
	}

	var empty schemas.SpaceState
	if err := json.Unmarshal([]byte(`{"CART":{}}`), &empty); err != nil {
		t.Fatalf("Unmarshal empty: %v", err)
	}
	if empty.Cart == nil || len(empty.Cart) != 0 || len(empty.Numbers) != 0 {
		t.Errorf("empty state = %+v, want an empty non-nil cart and no numbers", empty)
	}
}

func TestSpaceStateUnmarshalInvalid(t *testing.T) {
	for _, input := range []string{`[]`, `{"CART":[]}`, `{"RATING":"high"}`, `{"CART":{}`} {
		var state schemas.SpaceState
		if err := json.Unmarshal([]byte(input), &state); err == nil {
			t.Errorf("Unmarshal(%s) succeeded, want an error", input)
		}
	}
}

func TestSpaceRowsJSON(t *testing.T) {
	s1 := sessionInSpace(t, "t1", "s1", "store-7", event("CART_ADD", product("p1"), int1(2)), event("RATING", int1(4)))
	s2 := sessionInSpace(t, "t1", "s2", "store-7", event("SEARCH", str1("shoes")))
	sp := spaceOf(t, spaceNow, s1, s2)
	b := marshalJSON(t, sp.RowsView(spaceNow))

	got := decodeJSON(t, b)
	want := map[string]any{
		"RATING": map[string]any{
			"s1": map[string]any{
				"value":   json.Number("4"),
				"expiry":  json.Number(string(marshalJSON(t, baseTime.Add(24*time.Hour).UnixMilli()))),
				"updated": "2019-10-01T12:00:00Z",
			},
		},
		"CART": map[string]any{
			"s1": map[string]any{
				"expiry":  "2019-10-01T12:30:00Z",
				"updated": "2019-10-01T12:00:00Z",
				"value":   map[string]any{"p1": json.Number("2")},
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("space rows JSON = %s\nwant %s", b, marshalJSON(t, want))
	}

	var back schemas.SpaceRows
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if !reflect.DeepEqual(back, sp.RowsView(spaceNow)) {
		t.Errorf("round trip = %+v, want %+v", back, sp.RowsView(spaceNow))
	}
}

func TestSpaceRowsEmptyJSON(t *testing.T) {
	var nilSpace *projection.Space
	for name, rows := range map[string]schemas.SpaceRows{
		"zero value":  {},
		"empty space": (&projection.Space{}).RowsView(spaceNow),
		"nil space":   nilSpace.RowsView(spaceNow),
	} {
		if got := string(marshalJSON(t, rows)); got != `{"RATING":{},"CART":{}}` {
			t.Errorf("%s marshals as %s, want {\"RATING\":{},\"CART\":{}}", name, got)
		}
	}
}

func TestSpaceTimesRFC3339(t *testing.T) {
	// Event times with milliseconds keep them in View and RowsView.
	s := sessionInSpace(t, "t1", "s1", "store-7",
		event("CART_ADD", product("p1"), after(250*time.Millisecond)), event("RATING", int1(4), after(1500*time.Millisecond)))
	sp := spaceOf(t, spaceNow, s)

	rows := sp.RowsView(spaceNow)
	rating := sp.View(spaceNow).Numbers[schemas.KeyRating]
	for name, value := range map[string]string{
		"cart row expiry":  rows.Cart["s1"].Expiry,
		"cart row updated": rows.Cart["s1"].Updated,
		"rating row":       rows.Rating["s1"].Updated,
		"rating created":   rating.Created,
		"rating updated":   rating.Updated,
	} {
		if _, err := time.Parse(time.RFC3339, value); err != nil {
			t.Errorf("%s %q is not RFC 3339: %v", name, value, err)
		}
	}
	if want := "2019-10-01T12:00:00.25Z"; rows.Cart["s1"].Updated != want {
		t.Errorf("cart row updated = %q, want %q", rows.Cart["s1"].Updated, want)
	}
	if want := "2019-10-01T12:00:01.5Z"; rating.Updated != want {
		t.Errorf("rating updated = %q, want %q", rating.Updated, want)
	}
}

func TestSpaceQuantitySaturates(t *testing.T) {
	sp := &projection.Space{}
	for _, id := range []string{"s1", "s2"} {
		c := projection.Contribution{
			Tenant: "t1", Space: "store-7", Session: id, Version: 1, Contact: "s:" + id,
			Cart: map[string]int64{"p1": math.MaxInt64 - 1}, CartUpdated: baseMillis, CartExpiry: baseMillis + 60_000,
		}
		applyContribution(t, sp, c, spaceNow)
	}
	if got := sp.View(spaceNow).Cart["p1"].Quantity; got != math.MaxInt64 {
		t.Errorf("quantity = %d, want %d: the sum must not wrap around", got, int64(math.MaxInt64))
	}
}

func TestSpaceMeanExact(t *testing.T) {
	// The mean of large values must not depend on the order in which the
	// rows are read: 2^53 + 1 + 1 summed as float64 gives 2^53 or 2^53+2
	// depending on the order.
	sp := &projection.Space{}
	for i, v := range []int64{1 << 53, 1, 1} {
		id := string(rune('a' + i))
		c := projection.Contribution{
			Tenant: "t1", Space: "store-7", Session: id, Version: 1, Contact: "s:" + id,
			Numbers: map[string]projection.Number{"SCORE": {Value: v, Updated: baseMillis, Expiry: baseMillis + 60_000}},
		}
		applyContribution(t, sp, c, spaceNow)
	}

	want := float64(1<<53+2) / 3
	for range 50 {
		if got := sp.View(spaceNow).Numbers["SCORE"].Value.Mean; got != want {
			t.Fatalf("mean = %v, want %v", got, want)
		}
	}

	// Sums beyond int64 still give the mean.
	for name, c := range map[string]struct {
		value int64
		want  float64
	}{
		"max": {math.MaxInt64, math.MaxInt64},
		"min": {math.MinInt64, math.MinInt64},
	} {
		extreme := &projection.Space{}
		for _, id := range []string{"a", "b", "c"} {
			contrib := projection.Contribution{
				Tenant: "t1", Space: "store-7", Session: id, Version: 1, Contact: "s:" + id,
				Numbers: map[string]projection.Number{"SCORE": {Value: c.value, Updated: baseMillis, Expiry: baseMillis + 60_000}},
			}
			applyContribution(t, extreme, contrib, spaceNow)
		}
		if got := extreme.View(spaceNow).Numbers["SCORE"].Value.Mean; got != c.want {
			t.Errorf("mean of three %s values = %v, want %v", name, got, c.want)
		}
	}
}

func TestMarshalSpaceRoundTrip(t *testing.T) {
	s := sessionInSpace(t, "t1", "s1", "store-7",
		event("CART_ADD", product("p1"), int1(2)), event("SCORE", stateful(), int1(9)),
		event("CONTACT_IDENTIFY", str1("email"), str2("ann@example.com")))
	sp := spaceOf(t, spaceNow, append(ratedSessions(t), s)...)
	sp.TimerAt = projection.NextSpaceExpiry(sp)
	withdrawn := projection.Contribution{Tenant: "t1", Space: "store-7", Session: "gone", Version: 9, Removed: true}
	applyContribution(t, sp, withdrawn, spaceNow)

	b := marshalSpace(t, sp)
	if b[0] != 3 {
		t.Errorf("format byte = %d, want 3", b[0])
	}
	got, err := projection.UnmarshalSpace(b)
	if err != nil {
		t.Fatalf("UnmarshalSpace: %v", err)
	}
	if !reflect.DeepEqual(got, sp) {
		t.Errorf("round trip = %+v, want %+v", got, sp)
	}
	if again := marshalSpace(t, got); !bytes.Equal(again, b) {
		t.Errorf("encoding changed:\nfirst  %s\nsecond %s", b[1:], again[1:])
	}
	if got.Rows["gone"] == nil || got.Rows["gone"].Version != 9 {
		t.Errorf("withdrawn row = %+v, want version 9", got.Rows["gone"])
	}
}

func TestMarshalSpaceExpiredRoundTrip(t *testing.T) {
	sp := spaceOf(t, spaceNow, ratedSessions(t)...)
	projection.ExpireSpace(sp, baseTime.Add(25*time.Hour).UnixMilli())

	b := marshalSpace(t, sp)
	got, err := projection.UnmarshalSpace(b)
	if err != nil {
		t.Fatalf("UnmarshalSpace: %v", err)
	}
	if again := marshalSpace(t, got); !bytes.Equal(again, b) {
		t.Errorf("encoding changed:\nfirst  %s\nsecond %s", b[1:], again[1:])
	}
	if len(got.Rows) != 3 {
		t.Errorf("rows = %d, want 3 empty rows that keep their versions", len(got.Rows))
	}
	for id, row := range got.Rows {
		if row.Version == 0 || len(row.Numbers) != 0 {
			t.Errorf("row %s = %+v, want a version and no numbers", id, row)
		}
	}
}

func TestMarshalSpaceNil(t *testing.T) {
	if _, err := projection.MarshalSpace(nil); err == nil {
		t.Error("MarshalSpace(nil) succeeded, want an error")
	}
}

func TestUnmarshalSpaceCorrupt(t *testing.T) {
	session := marshal(t, &projection.Session{Tenant: "t1", ID: "s1"})
	for name, b := range map[string][]byte{
		"empty":            nil,
		"session encoding": session,
		"invalid JSON":     []byte("\x03{"),
		"null row":         []byte("\x03" + `{"tenant":"t1","id":"store-7","rows":{"s1":null}}`),
		"zero quantity":    []byte("\x03" + `{"tenant":"t1","id":"store-7","rows":{"s1":{"version":1,"cart":{"p1":0},"cartExpiry":1}}}`),
	} {
		if _, err := projection.UnmarshalSpace(b); !errors.Is(err, projection.ErrCorrupt) {
			t.Errorf("%s: error = %v, want ErrCorrupt", name, err)
		}
	}
}

func TestSpaceRowsView(t *testing.T) {
	s1 := sessionInSpace(t, "t1", "s1", "store-7", event("CART_ADD", product("p1"), int1(2)), event("RATING", int1(4)))
	s2 := sessionInSpace(t, "t1", "s2", "store-7", event("RATING", int1(1), after(time.Minute)))
	sp := spaceOf(t, spaceNow, s1, s2)

	rows := sp.RowsView(spaceNow)
	wantRating := map[string]schemas.RatingRow{
		"s1": {Value: 4, Expiry: baseTime.Add(24 * time.Hour).UnixMilli(), Updated: "2019-10-01T12:00:00Z"},
		"s2": {Value: 1, Expiry: baseTime.Add(time.Minute + 24*time.Hour).UnixMilli(), Updated: "2019-10-01T12:01:00Z"},
	}
	if !reflect.DeepEqual(rows.Rating, wantRating) {
		t.Errorf("rating rows = %+v, want %+v", rows.Rating, wantRating)
	}
	wantCart := map[string]schemas.CartRow{
		"s1": {Expiry: "2019-10-01T12:30:00Z", Updated: "2019-10-01T12:00:00Z", Value: map[string]int64{"p1": 2}},
	}
	if !reflect.DeepEqual(rows.Cart, wantCart) {
		t.Errorf("cart rows = %+v, want %+v", rows.Cart, wantCart)
	}

	// RowsView returns a copy, so changing it leaves the space as it was.
	rows.Cart["s1"].Value["p1"] = 100
	if got := sp.View(spaceNow).Cart["p1"].Quantity; got != 2 {
		t.Errorf("quantity = %d after changing the rows answer, want 2", got)
	}
}

func TestApplyContributionCopiesCart(t *testing.T) {
	s := sessionInSpace(t, "t1", "s1", "store-7", event("CART_ADD", product("p1")))
	c := contribution(s)
	sp := spaceOf(t, spaceNow)
	applyContribution(t, sp, c, spaceNow)

	c.Cart["p1"] = 50
	if got := sp.View(spaceNow).Cart["p1"].Quantity; got != 1 {
		t.Errorf("quantity = %d after changing the applied contribution, want 1", got)
	}
}

func TestApplyContributionErrorNamesSpaces(t *testing.T) {
	sp := spaceOf(t, spaceNow, sessionInSpace(t, "t1", "s1", "store-7", event("CART_ADD", product("p1"))))
	c := contribution(sessionInSpace(t, "t2", "s9", "store-7", event("CART_ADD", product("p1"))))

	_, err := projection.ApplyContribution(sp, c, spaceNow)
	if err == nil {
		t.Fatal("ApplyContribution of another tenant succeeded")
	}
	for _, part := range []string{`"t1"`, `"t2"`, `"store-7"`} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not name %s", err, part)
		}
	}
}

func TestApplyContributionInvalidQuantity(t *testing.T) {
	// Contribute never sends a quantity below 1. A contribution from
	// elsewhere that does loses those products, so they cannot turn the
	// sums negative.
	for _, q := range []int64{0, -1, math.MinInt64} {
		sp := &projection.Space{}
		c := projection.Contribution{
			Tenant: "t1", Space: "store-7", Session: "s1", Version: 1, Contact: "s:s1",
			Cart: map[string]int64{"p1": 1, "p2": q}, CartUpdated: baseMillis, CartExpiry: baseMillis + 60_000,
		}
		if changed := applyContribution(t, sp, c, spaceNow); !changed {
			t.Errorf("quantity %d: the valid product p1 did not change the state", q)
		}
		want := map[string]schemas.ProductTotal{"p1": {Quantity: 1, Contacts: 1}}
		if got := sp.View(spaceNow).Cart; !reflect.DeepEqual(got, want) {
			t.Errorf("quantity %d: cart = %+v, want %+v", q, got, want)
		}

		only := projection.Contribution{
			Tenant: "t1", Space: "store-7", Session: "s2", Version: 1, Contact: "s:s2",
			Cart: map[string]int64{"p2": q}, CartUpdated: baseMillis, CartExpiry: baseMillis + 60_000,
		}
		if changed := applyContribution(t, sp, only, spaceNow); changed {
			t.Errorf("quantity %d: a cart of invalid quantities changed the state", q)
		}
		if row := sp.Rows["s2"]; row.Cart != nil || row.CartExpiry != 0 {
			t.Errorf("quantity %d: row = %+v, want no cart", q, row)
		}
	}
}

func TestSpaceBeforeEpoch(t *testing.T) {
	// A backfill whose clock runs on event time can apply values that expire
	// before 1970. NextSpaceExpiry must still report them as due.
	then := time.Date(1969, 12, 20, 0, 0, 0, 0, time.UTC).UnixMilli()
	sp := &projection.Space{}
	c := projection.Contribution{
		Tenant: "t1", Space: "store-7", Session: "s1", Version: 1, Contact: "s:s1",
		Cart: map[string]int64{"p1": 1}, CartUpdated: then, CartExpiry: then + 1_800_000,
		Numbers: map[string]projection.Number{schemas.KeyRating: {Value: 3, Updated: then, Expiry: 0}},
	}
	applyContribution(t, sp, c, then)
	if got := projection.NextSpaceExpiry(sp); got != 1 {
		t.Errorf("NextSpaceExpiry = %d, want 1, an instant that is due at once", got)
	}
	if !projection.ExpireSpace(sp, spaceNow) {
		t.Error("ExpireSpace did not report removing the expired parts")
	}
	if row := sp.Rows["s1"]; len(row.Cart) != 0 || len(row.Numbers) != 0 {
		t.Errorf("row = %+v, want no parts", row)
	}
	if got := projection.NextSpaceExpiry(sp); got != 0 {
		t.Errorf("NextSpaceExpiry = %d, want 0", got)
	}
}

func TestSpaceAggregateTimesBeforeEpoch(t *testing.T) {
	// A stateful value given before 1970 with a long public expiry is live,
	// and its time is reported as given.
	updated := time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC).UnixMilli()
	sp := &projection.Space{}
	c := projection.Contribution{
		Tenant: "t1", Space: "store-7", Session: "s1", Version: 1, Contact: "s:s1",
		Numbers: map[string]projection.Number{"SCORE": {Value: 1, Updated: updated, Expiry: baseMillis + 60_000}},
	}
	applyContribution(t, sp, c, spaceNow)
	score := sp.View(spaceNow).Numbers["SCORE"]
	if score.Created != "1969-07-20T20:17:00Z" || score.Updated != "1969-07-20T20:17:00Z" {
		t.Errorf("created %q, updated %q, want both 1969-07-20T20:17:00Z", score.Created, score.Updated)
	}
}
