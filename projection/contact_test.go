package projection_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/gridsession/gridsession/projection"
)

func TestHashContactHidesValue(t *testing.T) {
	contacts := []struct{ contactType, value string }{
		{"email", "ann@example.com"},
		{"phone", "+358401234567"},
		{"name", "Ann Example"},
		{"loyalty", "CARD-0042-ABCD"},
	}
	for _, c := range contacts {
		h := projection.HashContact(testKey, c.contactType, c.value)
		if strings.Contains(h, c.value) || strings.Contains(strings.ToLower(h), strings.ToLower(c.value)) {
			t.Errorf("hash %q contains the value %q", h, c.value)
		}
		if len(h) != 64 {
			t.Errorf("hash %q is %d characters, want 64 hex digits", h, len(h))
		}
		if _, err := hex.DecodeString(h); err != nil {
			t.Errorf("hash %q is not hex: %v", h, err)
		}
	}
}

func TestHashContactStoredWithoutValue(t *testing.T) {
	s := projection.Session{}
	apply(t, &s, event("CONTACT_IDENTIFY", str1("email"), str2("ann@example.com")), projection.Config{ContactKey: testKey})
	if b := marshal(t, &s); strings.Contains(string(b), "ann") || strings.Contains(string(b), "example.com") {
		t.Errorf("stored state contains the contact value: %s", b[1:])
	}
	if s.ContactUpdated != baseMillis {
		t.Errorf("ContactUpdated = %d, want %d", s.ContactUpdated, baseMillis)
	}
}

func TestHashContactDeterministic(t *testing.T) {
	a := projection.HashContact(testKey, "email", "ann@example.com")
	b := projection.HashContact(append([]byte(nil), testKey...), "email", "ann@example.com")
	if a != b {
		t.Errorf("same input gave %q and %q", a, b)
	}
}

func TestHashContactDistinguishes(t *testing.T) {
	base := projection.HashContact(testKey, "email", "ann@example.com")
	others := map[string]string{
		"other key":   projection.HashContact([]byte("another key"), "email", "ann@example.com"),
		"other type":  projection.HashContact(testKey, "phone", "ann@example.com"),
		"other value": projection.HashContact(testKey, "email", "bob@example.com"),
		"value case":  projection.HashContact(testKey, "email", "Ann@example.com"),
	}
	for name, h := range others {
		if h == base {
			t.Errorf("%s: same hash as the base contact", name)
		}
	}

	// The type's length is hashed, so moving bytes between type and value
	// gives another hash.
	if projection.HashContact(testKey, "ab", "c") == projection.HashContact(testKey, "a", "bc") {
		t.Error(`("ab", "c") and ("a", "bc") have the same hash`)
	}
}

func TestHashContactNormalizes(t *testing.T) {
	want := projection.HashContact(testKey, "email", "ann@example.com")
	for _, c := range []struct{ contactType, value string }{
		{"EMAIL", "ann@example.com"},
		{" Email\t", "ann@example.com"},
		{"email", "  ann@example.com\n"},
	} {
		if got := projection.HashContact(testKey, c.contactType, c.value); got != want {
			t.Errorf("HashContact(%q, %q) differs from the trimmed, lowercased type", c.contactType, c.value)
		}
	}
}

func TestContactLatestIdentifyWins(t *testing.T) {
	s := projection.Session{}
	cfg := projection.Config{ContactKey: testKey}
	apply(t, &s, event("CONTACT_IDENTIFY", str1("email"), str2("ann@example.com")), cfg)
	apply(t, &s, event("CONTACT_IDENTIFY", str1("phone"), str2("+358401234567"), after(time.Minute)), cfg)
	if want := projection.HashContact(testKey, "phone", "+358401234567"); s.Contact != want {
		t.Errorf("Contact = %q, want the hash of the latest identify", s.Contact)
	}
	if want := baseTime.Add(time.Minute).UnixMilli(); s.ContactUpdated != want {
		t.Errorf("ContactUpdated = %d, want %d", s.ContactUpdated, want)
	}
}
