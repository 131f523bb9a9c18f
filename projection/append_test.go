package projection

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// referenceJSON is the encoding/json form that appendSession reproduces.
func referenceJSON(t *testing.T, s *Session) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// fullSession sets every field of Session, so that a field added later
// fails this test until appendSession writes it.
func fullSession(text string) *Session {
	str, n := "v"+text, int64(-7)
	return &Session{
		Tenant: "t" + text, ID: "s" + text, Known: true, SpaceID: "sp" + text,
		ClientID: "c" + text, Created: 1569888000000, RecordCaptureID: "r" + text,
		Cart:        map[string]int64{"p2" + text: 3, "p1": 1, text: 9},
		CartUpdated: -5, Search: []string{text, "", "shoes"},
		Rating:  &Rating{Value: 4, Updated: 1569888000001},
		Contact: "h" + text, ContactUpdated: 12,
		Stateful: map[string]Value{
			"MOOD" + text: {Str: &str, Updated: 1, Expiry: 2},
			"LEVEL":       {Int: &n, Updated: 3, Expiry: 0},
		},
		LastActivity: 99, Version: 1 << 63, Applied: 5, ExpirySeq: 2, TimerAt: 1569889800000,
		Seen: []string{"a" + text, "b"},
	}
}

func TestAppendSessionSetsEveryField(t *testing.T) {
	v := reflect.ValueOf(*fullSession("x"))
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("fullSession leaves %s unset", v.Type().Field(i).Name)
		}
	}
}

func TestAppendSessionMatchesEncodingJSON(t *testing.T) {
	texts := []string{
		"", "plain", `quote " and \ backslash`, "tab\tnew\nline\r\b\f\x00\x1f\x7f",
		"<html> & more", "héllo ☃ 😀", "\u2028\u2029", "bad \xff\xfe utf8 \xe2\x82",
		"\xed\xa0\x80 surrogate",
	}
	for _, text := range texts {
		s := fullSession(text)
		if got, want := appendSession(nil, s), referenceJSON(t, s); !bytes.Equal(got, want) {
			t.Errorf("text %q:\n got  %s\n want %s", text, got, want)
		}
	}
	empty := &Session{Search: []string{}, Cart: map[string]int64{}}
	if got, want := appendSession(nil, empty), referenceJSON(t, empty); !bytes.Equal(got, want) {
		t.Errorf("empty session: got %s, want %s", got, want)
	}
}

func FuzzAppendSession(f *testing.F) {
	f.Add("plain", "x")
	f.Add("\u2028\xff\"", "\x00<")
	f.Fuzz(func(t *testing.T, a, b string) {
		s := fullSession(a)
		s.Search = append(s.Search, b)
		s.Cart[b] = 2
		if got, want := appendSession(nil, s), referenceJSON(t, s); !bytes.Equal(got, want) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
}

func BenchmarkMarshalSession(b *testing.B) {
	s := fullSession("bench")
	for i := range 40 {
		s.Seen = append(s.Seen, "r-"+string(rune('a'+i%26))+"123456")
	}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Marshal(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := marshalWithFormat(formatSessionV1, s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
