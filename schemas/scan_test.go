package schemas

import (
	"reflect"
	"testing"
	"unicode/utf8"
)

// scanCases are event records with whether scanEvent should read them
// itself; the rest go to encoding/json.
var scanCases = []struct {
	record string
	fast   bool
}{
	{`{"tenantId":"t1","sessionId":"s1","eventType":"CART_ADD","productId":"p1","int1":2,"eventTime":"2019-10-01T00:00:00Z","dataResidency":"EU","captureId":"c1","clientId":"c","ip":"1.2.3.4","interaction":true}`, true},
	{` { "tenantId" : "t1" ,	"sessionId" : 42 , "int1" : -0.5e+3 , "int2":1E2, "int3":0, "int4":-0, "int5":12.25 }` + "\r\n", true},
	{`{"sessionId":123456789012345678901234567890,"public":null,"str1":null,"stateful":false,"interaction":null}`, true},
	{`{"str1":"héllo wörld ☃","str2":"","categoryId":"2103807459595387724"}`, true},
	{`{}`, true},
	{`{"sessionId":null}`, true},
	{`{"str1":"a\"b"}`, false},                 // escape
	{`{"str1":"\u00e9"}`, false},               // escape
	{`{"tenantId":"a","tenantId":"b"}`, false}, // named twice
	{`{"TenantID":"a"}`, false},                // another case
	{`{"spaceId":"x"}`, false},                 // not an event member
	{`{"extra":{"a":[1,2]}}`, false},           // nested value
	{`{"int1":"2"}`, false},                    // quoted number
	{`{"int1":01}`, false},
	{`{"int1":1.}`, false},
	{`{"int1":.5}`, false},
	{`{"int1":1e}`, false},
	{`{"int1":-}`, false},
	{`{"int1":+1}`, false},
	{`{"int1":NaN}`, false},
	{`{"interaction":"true"}`, false},
	{`{"interaction":truex}`, false},
	{`{"sessionId":true}`, false},
	{`{"sessionId":["a"]}`, false},
	{`{"str1":1}`, false},
	{`{"str1":nul}`, false},
	{`{"tenantId":"t1"} x`, false},
	{`{"tenantId":"t1",}`, false},
	{`{"tenantId":"t1"`, false},
	{`{"tenantId" "t1"}`, false},
	{`{"tenantId":"t1` + "\x01" + `"}`, false},
	{`[]`, false},
	{`null`, false},
	{``, false},
}

// checkScan checks the contract of scanEvent on one record: when it
// accepts, encoding/json accepts too and decodes the same wire values.
func checkScan(t *testing.T, data []byte) bool {
	t.Helper()
	if checkRecord(data) != nil {
		return false
	}
	var fast eventWire
	if !scanEvent(data, &fast) {
		return false
	}
	var slow eventWire
	if err := unmarshalChecked(data, &slow); err != nil {
		t.Fatalf("scanEvent accepted %q, encoding/json rejects it: %v", data, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%q decodes differently:\n scanEvent     %+v\n encoding/json %+v", data, fast, slow)
	}
	return true
}

func TestScanEventMatchesEncodingJSON(t *testing.T) {
	for _, c := range scanCases {
		if got := checkScan(t, []byte(c.record)); got != c.fast {
			t.Errorf("scanEvent(%q) took the fast path: %v, want %v", c.record, got, c.fast)
		}
	}
}

// TestDecodeEventSameOnBothPaths decodes records that differ only in an
// escape, which sends one of them to encoding/json: the events must be the
// same.
func TestDecodeEventSameOnBothPaths(t *testing.T) {
	v := NewValidator()
	plain := `{"tenantId":"t1","sessionId":"s1","eventType":"SEARCH","str1":"shoes","eventTime":"2019-10-01T00:00:00Z","dataResidency":"EU","captureId":"c1","clientId":"c","ip":"1.2.3.4","productId":"","interaction":true,"int1":3}`
	escaped := `{"tenantId":"t1","sessionId":"s1","eventType":"SEARCH","str1":"sh\u006fes","eventTime":"2019-10-01T00:00:00Z","dataResidency":"EU","captureId":"c1","clientId":"c","ip":"1.2.3.4","productId":"","interaction":true,"int1":3}`
	a, err := v.DecodeEvent([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.DecodeEvent([]byte(escaped))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("fast path %+v\nslow path %+v", a, b)
	}
}

func FuzzScanEvent(f *testing.F) {
	for _, c := range scanCases {
		f.Add([]byte(c.record))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return
		}
		checkScan(t, data)
	})
}

func BenchmarkDecodeEvent(b *testing.B) {
	v := NewValidator()
	record := []byte(`{"tenantId":"rees46","eventTime":"2019-10-01T00:12:34Z","dataResidency":"EU","sessionId":"0000abcd-8bb3-4e00-8c23-a032dfed738c","clientId":"541312140","eventType":"CART_ADD","productId":"44600012","categoryId":"2103807459595387724","int1":1,"int2":3579,"captureId":"r-123456"}`)
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.DecodeEvent(record); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var w eventWire
			if err := unmarshal(record, &w); err != nil {
				b.Fatal(err)
			}
		}
	})
}
