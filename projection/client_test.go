package projection_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/schemas"
)

func clientRecord() *schemas.Client {
	return &schemas.Client{
		TenantID: "t1", ClientID: "c1", ClientCreated: "2019-10-01T12:00:00Z",
		ClientUserAgent: "Mozilla/5.0", DataResidency: "EU", Country: "FI",
		LocationAccuracy: ptr(5.0), Latitude: ptr(60.1699), Longitude: ptr(24.9384),
		ClientScreenWidth: ptr(1920.0), ClientScreenHeight: ptr(1080.0),
		ClientScreenColorDepth: ptr(24.0), ClientScreenPixelDepth: ptr(30.0),
	}
}

func TestApplyClient(t *testing.T) {
	var c projection.ClientState
	changed, err := projection.ApplyClient(&c, clientRecord())
	if err != nil || !changed {
		t.Fatalf("first record: changed %v, error %v", changed, err)
	}
	want := projection.ClientState{
		Tenant: "t1", ID: "c1", Created: baseMillis, UserAgent: "Mozilla/5.0", DataResidency: "EU", Country: "FI",
		ScreenWidth: 1920, ScreenHeight: 1080, ScreenColorDepth: 24, ScreenPixelDepth: 30,
	}
	if c != want {
		t.Errorf("state = %+v, want %+v", c, want)
	}

	changed, err = projection.ApplyClient(&c, clientRecord())
	if err != nil || changed {
		t.Errorf("same record again: changed %v, error %v, want no change", changed, err)
	}

	r := clientRecord()
	r.ClientUserAgent = "Mozilla/6.0"
	r.ClientScreenWidth = nil
	changed, err = projection.ApplyClient(&c, r)
	if err != nil || !changed {
		t.Fatalf("new record: changed %v, error %v", changed, err)
	}
	if c.UserAgent != "Mozilla/6.0" || c.ScreenWidth != 0 {
		t.Errorf("UserAgent, ScreenWidth = %q, %v, want the latest record's", c.UserAgent, c.ScreenWidth)
	}
}

func TestApplyClientStoresNoLocation(t *testing.T) {
	var c projection.ClientState
	if _, err := projection.ApplyClient(&c, clientRecord()); err != nil {
		t.Fatal(err)
	}
	b, err := projection.MarshalClient(&c)
	if err != nil {
		t.Fatal(err)
	}
	for _, location := range []string{"60.1699", "24.9384"} {
		if strings.Contains(string(b), location) {
			t.Errorf("stored client %s contains the location %s", b[1:], location)
		}
	}
}

func TestApplyClientErrors(t *testing.T) {
	otherClient := clientRecord()
	otherClient.ClientID = "c2"
	badTime := clientRecord()
	badTime.ClientCreated = "2019-10-01"

	for name, c := range map[string]struct {
		record *schemas.Client
		check  func(error) bool
	}{
		"other client": {otherClient, func(err error) bool { return errors.Is(err, projection.ErrWrongSession) }},
		"invalid time": {badTime, isFieldError(schemas.ReasonInvalidField, "clientCreated")},
	} {
		t.Run(name, func(t *testing.T) {
			state := projection.ClientState{Tenant: "t1", ID: "c1", Country: "SE"}
			before := state
			changed, err := projection.ApplyClient(&state, c.record)
			if changed || !c.check(err) {
				t.Errorf("changed %v, error %v", changed, err)
			}
			if state != before {
				t.Errorf("state changed to %+v", state)
			}
		})
	}
}

func TestClientRoundTrip(t *testing.T) {
	var c projection.ClientState
	if _, err := projection.ApplyClient(&c, clientRecord()); err != nil {
		t.Fatal(err)
	}
	b, err := projection.MarshalClient(&c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := projection.UnmarshalClient(b)
	if err != nil {
		t.Fatal(err)
	}
	if *got != c {
		t.Errorf("round trip gave %+v, want %+v", *got, c)
	}

	// A session encoding is not a client encoding.
	session := marshal(t, &projection.Session{ID: "s1"})
	if _, err := projection.UnmarshalClient(session); !errors.Is(err, projection.ErrCorrupt) {
		t.Errorf("UnmarshalClient of a session: got %v, want ErrCorrupt", err)
	}
	if _, err := projection.Unmarshal(b); !errors.Is(err, projection.ErrCorrupt) {
		t.Errorf("Unmarshal of a client: got %v, want ErrCorrupt", err)
	}
}
