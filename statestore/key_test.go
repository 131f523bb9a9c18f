package statestore

import (
	"bytes"
	"errors"
	"testing"
)

func TestStateKeyRoundTrip(t *testing.T) {
	key, err := appendStateKey(nil, "tenant-1", "sessions", "s-42")
	if err != nil {
		t.Fatalf("appendStateKey: %v", err)
	}

	tenant, table, id, err := parseStateKey(key)
	if err != nil {
		t.Fatalf("parseStateKey(%q): %v", key, err)
	}
	if tenant != "tenant-1" || table != "sessions" || id != "s-42" {
		t.Errorf("parseStateKey(%q) = %q, %q, %q; want tenant-1, sessions, s-42", key, tenant, table, id)
	}
}

func TestStateKeyRejectsInvalidParts(t *testing.T) {
	cases := []struct {
		name              string
		tenant, table, id string
	}{
		{"empty tenant", "", "t", "i"},
		{"empty table", "a", "", "i"},
		{"empty id", "a", "t", ""},
		{"zero byte in tenant", "a\x00b", "t", "i"},
		{"zero byte in table", "a", "t\x00", "i"},
		{"zero byte in id", "a", "t", "\x00i"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := appendStateKey(nil, tc.tenant, tc.table, tc.id)
			if !errors.Is(err, ErrInvalidKey) {
				t.Errorf("appendStateKey(%q, %q, %q) error = %v, want ErrInvalidKey", tc.tenant, tc.table, tc.id, err)
			}
		})
	}
}

func TestParseStateKeyRejectsCorrupt(t *testing.T) {
	keys := [][]byte{
		nil,
		[]byte("x\x00a\x00b"),
		[]byte("s"),
		[]byte("sa\x00b"),
		[]byte("s\x00b\x00c"),
		[]byte("sa\x00\x00c"),
		[]byte("sa\x00b\x00"),
		[]byte("sa\x00b\x00c\x00d"),
	}
	for _, key := range keys {
		if _, _, _, err := parseStateKey(key); !errors.Is(err, ErrCorrupt) {
			t.Errorf("parseStateKey(%q) error = %v, want ErrCorrupt", key, err)
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	cases := []struct {
		prefix, want []byte
	}{
		{[]byte("s"), []byte("t")},
		{[]byte("sa\x00t\x00"), []byte("sa\x00t\x01")},
		{[]byte{'a', 0xff, 0xff}, []byte{'b'}},
		{[]byte{0xff}, nil},
	}
	for _, tc := range cases {
		if got := prefixEnd(tc.prefix); !bytes.Equal(got, tc.want) {
			t.Errorf("prefixEnd(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

// FuzzStateKey checks that keys round-trip and that the scan range of one
// tenant's table contains exactly the keys of that tenant and table.
func FuzzStateKey(f *testing.F) {
	f.Add("a", "t", "1", "ab", "t", "1")
	f.Add("a", "t", "1", "a", "tb", "1")
	f.Add("a", "t\x01", "1", "a", "t", "\x01")
	f.Add("a\xff", "t", "1", "a", "t", "1")

	f.Fuzz(func(t *testing.T, tenant, table, id, otherTenant, otherTable, otherID string) {
		key, err := appendStateKey(nil, tenant, table, id)
		if err != nil {
			return
		}
		gotTenant, gotTable, gotID, err := parseStateKey(key)
		if err != nil {
			t.Fatalf("parseStateKey(%q): %v", key, err)
		}
		if gotTenant != tenant || gotTable != table || gotID != id {
			t.Fatalf("round trip of %q, %q, %q = %q, %q, %q", tenant, table, id, gotTenant, gotTable, gotID)
		}

		other, err := appendStateKey(nil, otherTenant, otherTable, otherID)
		if err != nil {
			return
		}
		lower, _ := appendTablePrefix(nil, tenant, table)
		upper := prefixEnd(lower)
		inRange := bytes.Compare(other, lower) >= 0 && bytes.Compare(other, upper) < 0
		sameTable := otherTenant == tenant && otherTable == table
		if inRange != sameTable {
			t.Fatalf("key %q in scan range of %q/%q = %v, want %v", other, tenant, table, inRange, sameTable)
		}
	})
}
