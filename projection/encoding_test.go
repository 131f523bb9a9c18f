package projection_test

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/schemas"
)

func fullSession() *projection.Session {
	return &projection.Session{
		Tenant: "t1", ID: "s1", Known: true, SpaceID: "store-7", ClientID: "c1",
		Created: baseMillis - 1000, RecordCaptureID: "cap-s",
		Cart: map[string]int64{"p1": 2, "p2": 1000000}, CartUpdated: baseMillis,
		Search:  []string{"shoes", "red \"shoes\"", "kenkä"},
		Rating:  &projection.Rating{Value: 4, Updated: baseMillis},
		Contact: projection.HashContact(testKey, "email", "ann@example.com"), ContactUpdated: baseMillis,
		Stateful: map[string]projection.Value{
			"MOOD":  {Str: ptr(""), Updated: baseMillis, Expiry: baseMillis + 1},
			"LEVEL": {Int: ptr[int64](-9007199254740992), Updated: -1, Expiry: 0},
		},
		LastActivity: baseMillis, Version: 1 << 40, Seen: []string{"c1", "c2"},
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for name, s := range map[string]*projection.Session{
		"full":         fullSession(),
		"empty":        {},
		"version only": {Tenant: "t1", ID: "s1", Version: 3},
	} {
		t.Run(name, func(t *testing.T) {
			b := marshal(t, s)
			if b[0] != 1 {
				t.Errorf("format byte = %d, want 1", b[0])
			}
			got, err := projection.Unmarshal(b)
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !reflect.DeepEqual(*got, normalized(s)) {
				t.Errorf("round trip\n got %+v\nwant %+v", *got, *s)
			}
		})
	}
}

func TestMarshalEmptyCollectionsDecodeNil(t *testing.T) {
	s := &projection.Session{Cart: map[string]int64{}, Search: []string{}, Stateful: map[string]projection.Value{}, Seen: []string{}}
	got, err := projection.Unmarshal(marshal(t, s))
	if err != nil {
		t.Fatal(err)
	}
	if got.Cart != nil || got.Search != nil || got.Stateful != nil || got.Seen != nil {
		t.Errorf("got %+v, want nil collections", got)
	}
}

func TestMarshalStable(t *testing.T) {
	// The layout is stored on disk, so a change to it must be deliberate and
	// come with a new format byte when old code cannot read it.
	s := &projection.Session{
		Tenant: "t1", ID: "s1", Known: true, SpaceID: "sp", ClientID: "c1", Created: 1, RecordCaptureID: "r",
		Cart: map[string]int64{"b": 2, "a": 1}, CartUpdated: 2, Search: []string{"q"},
		Rating: &projection.Rating{Value: 5, Updated: 3}, Contact: "h", ContactUpdated: 4,
		Stateful:     map[string]projection.Value{"K": {Int: ptr[int64](7), Updated: 5, Expiry: 6}},
		LastActivity: 7, Version: 8, Seen: []string{"e1"},
	}
	want := "\x01" + `{"tenant":"t1","id":"s1","known":true,"space":"sp","client":"c1","created":1,"recordCapture":"r",` +
		`"cart":{"a":1,"b":2},"cartUpdated":2,"search":["q"],"rating":{"value":5,"updated":3},"contact":"h",` +
		`"contactUpdated":4,"stateful":{"K":{"int":7,"updated":5,"expiry":6}},"lastActivity":7,"version":8,"seen":["e1"]}`
	if got := string(marshal(t, s)); got != want {
		t.Errorf("encoding\n got %q\nwant %q", got, want)
	}
}

func TestMarshalIndependentOfInsertionOrder(t *testing.T) {
	a, b := &projection.Session{Cart: map[string]int64{}}, &projection.Session{Cart: map[string]int64{}}
	for i := range 100 {
		a.Cart[string(rune('a'+i%26))+string(rune('0'+i/26))] = int64(i + 1)
	}
	for i := 99; i >= 0; i-- {
		b.Cart[string(rune('a'+i%26))+string(rune('0'+i/26))] = int64(i + 1)
	}
	if string(marshal(t, a)) != string(marshal(t, b)) {
		t.Error("equal carts encode differently")
	}
}

func TestMarshalNil(t *testing.T) {
	if _, err := projection.Marshal(nil); err == nil {
		t.Error("Marshal(nil): got no error")
	}
	if _, err := projection.MarshalClient(nil); err == nil {
		t.Error("MarshalClient(nil): got no error")
	}
}

func TestUnmarshalCorrupt(t *testing.T) {
	cases := map[string][]byte{
		"empty":              nil,
		"format byte zero":   []byte("\x00{}"),
		"unknown format":     []byte("\x63{}"),
		"client format":      []byte("\x02{}"),
		"JSON only":          []byte(`{"tenant":"t1"}`),
		"truncated":          []byte("\x01{\"tenant\":"),
		"trailing data":      []byte("\x01{}{}"),
		"ill-typed field":    []byte("\x01{\"version\":\"one\"}"),
		"zero quantity":      []byte("\x01{\"cart\":{\"p1\":0}}"),
		"negative quantity":  []byte("\x01{\"cart\":{\"p1\":-2}}"),
		"fractional version": []byte("\x01{\"version\":1.5}"),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := projection.Unmarshal(b)
			if !errors.Is(err, projection.ErrCorrupt) {
				t.Errorf("got %+v, %v, want ErrCorrupt", s, err)
			}
		})
	}
}

func TestUnmarshalIgnoresUnknownFields(t *testing.T) {
	s, err := projection.Unmarshal([]byte("\x01{\"id\":\"s1\",\"addedLater\":[1,2]}"))
	if err != nil || s.ID != "s1" {
		t.Errorf("got %+v, %v, want the session s1", s, err)
	}
}

// randomEvent returns one of a small set of events, so that random sequences
// hit the same products, keys and queries often.
func randomEvent(r *rand.Rand, i int) *schemas.Event {
	products := []string{"p1", "p2", "p3"}
	at := after(time.Duration(r.IntN(3600)) * time.Second)
	id := capture("e" + string(rune('a'+r.IntN(26))) + string(rune('a'+i%26)))
	switch r.IntN(10) {
	case 0:
		return event("CART_ADD", product(products[r.IntN(3)]), int1(int64(1+r.IntN(3))), at, id)
	case 1:
		return event("CART_REMOVE", product(products[r.IntN(3)]), int1(int64(1+r.IntN(3))), at, id)
	case 2:
		return event("CART_CLEAR", at, id)
	case 3:
		return event("SEARCH", str1([]string{"a", "b", "c"}[r.IntN(3)]), at, id)
	case 4:
		return event("SEARCH_CLEAR", at, id)
	case 5:
		return event("RATING", int1(int64(1+r.IntN(5))), at, id)
	case 6:
		return event("CONTACT_IDENTIFY", str1("email"), str2([]string{"a@x", "b@x"}[r.IntN(2)]), at, id)
	case 7:
		return event([]string{"K1", "K2", "K3"}[r.IntN(3)], stateful(), int1(int64(r.IntN(3))), public(int64(1+r.IntN(600_000))), at, id)
	case 8:
		return event("PURCHASE", at, id)
	}
	return event("CART_ADD", product(products[r.IntN(3)]), at, id)
}

func TestReducersDeterministic(t *testing.T) {
	// The same events give the same bytes, whether the state stays in
	// memory or is stored and loaded between every event.
	cfg := projection.Config{ContactKey: testKey, MaxCartProducts: 2, MaxSearches: 3, MaxStatefulKeys: 2, CaptureWindow: 8}
	recordTime := baseTime.Add(30 * time.Minute)
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 1))
		events := make([]*schemas.Event, 300)
		for i := range events {
			events[i] = randomEvent(r, i)
		}

		inMemory, reloaded := &projection.Session{}, &projection.Session{}
		for i, e := range events {
			c1, err1 := projection.ApplyEvent(inMemory, e, recordTime, cfg)
			c2, err2 := projection.ApplyEvent(reloaded, e, recordTime, cfg)
			if c1 != c2 || (err1 == nil) != (err2 == nil) {
				t.Fatalf("seed %d event %d: %+v, %v and %+v, %v differ", seed, i, c1, err1, c2, err2)
			}
			var err error
			if reloaded, err = projection.Unmarshal(marshal(t, reloaded)); err != nil {
				t.Fatalf("seed %d event %d: %v", seed, i, err)
			}
		}
		if a, b := marshal(t, inMemory), marshal(t, reloaded); string(a) != string(b) {
			t.Errorf("seed %d: states differ\n%s\n%s", seed, a[1:], b[1:])
		}
	}
}
