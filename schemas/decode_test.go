package schemas_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gridsession/gridsession/schemas"
)

// Records are built as maps so that each case can delete a member, set it to
// another JSON type or add one. A json.RawMessage value is sent as it is,
// which keeps number forms such as 2.0 and 1e3 intact.

func clientRecord() map[string]any {
	return map[string]any{
		"tenantId":               "t1",
		"clientId":               "c1",
		"clientCreated":          "2019-10-01T00:00:00Z",
		"clientUserAgent":        "Mozilla/5.0 (X11; Linux x86_64)",
		"dataResidency":          "EU",
		"country":                "FI",
		"locationAccuracy":       10,
		"latitude":               60.17,
		"longitude":              24.94,
		"clientScreenWidth":      1920,
		"clientScreenHeight":     1080,
		"clientScreenColorDepth": 24,
		"clientScreenPixelDepth": 24,
	}
}

func sessionRecord() map[string]any {
	return map[string]any{
		"tenantId":            "t1",
		"sessionId":           "s1",
		"sessionCreated":      "2019-10-01T00:00:00Z",
		"environment":         "production",
		"dataResidency":       "EU",
		"country":             "FI",
		"spaceId":             "store-7",
		"appId":               "kiosk",
		"appVersion":          "1.2.3",
		"installationId":      "i1",
		"installationVersion": "4.5.6",
		"deviceId":            "d1",
		"clientId":            "c1",
	}
}

func eventRecord() map[string]any {
	return map[string]any{
		"tenantId":      "t1",
		"eventTime":     "2019-10-01T00:00:00Z",
		"dataResidency": "EU",
		"sessionId":     "s1",
		"clientId":      "c1",
		"eventType":     "CART_ADD",
		"productId":     "p1",
		"captureId":     "cap-1",
	}
}

// with returns a copy of record with members set. A nil value deletes the
// member; json.RawMessage("null") sends JSON null.
func with(record map[string]any, members map[string]any) map[string]any {
	out := make(map[string]any, len(record)+len(members))
	for k, v := range record {
		out[k] = v
	}
	for k, v := range members {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

func encode(t testing.TB, record map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(record)
	if err != nil {
		t.Fatalf("encode test record: %v", err)
	}
	return b
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// recordKind names a record type and decodes it with a Validator.
type recordKind struct {
	name   string
	record func() map[string]any
	decode func(v *schemas.Validator, data []byte) error
}

var (
	clientKind = recordKind{"client", clientRecord, func(v *schemas.Validator, b []byte) error {
		_, err := v.DecodeClient(b)
		return err
	}}
	sessionKind = recordKind{"session", sessionRecord, func(v *schemas.Validator, b []byte) error {
		_, err := v.DecodeSession(b)
		return err
	}}
	eventKind = recordKind{"event", eventRecord, func(v *schemas.Validator, b []byte) error {
		_, err := v.DecodeEvent(b)
		return err
	}}
	allKinds = []recordKind{clientKind, sessionKind, eventKind}
)

var requiredFields = map[string][]string{
	"client": {"tenantId", "clientId", "clientCreated", "clientUserAgent", "dataResidency", "country"},
	"session": {"tenantId", "sessionId", "sessionCreated", "environment", "dataResidency", "country",
		"spaceId", "appId", "appVersion", "installationId", "installationVersion", "deviceId", "clientId"},
	"event": {"tenantId", "eventTime", "dataResidency", "sessionId", "clientId", "eventType"},
}

// rejection is one record that must fail to decode.
type rejection struct {
	name   string
	kind   recordKind
	data   []byte
	reason schemas.Reason
	field  string
	// value is a text that Error() must contain besides the field; "" when
	// the error has no value.
	value string
}

// checkRejection decodes c.data and checks the reason, field and message of
// the error.
func checkRejection(t *testing.T, v *schemas.Validator, c rejection) {
	t.Helper()
	err := c.kind.decode(v, c.data)
	if err == nil {
		t.Fatalf("decode %s: got no error, want %s on %q", c.data, c.reason, c.field)
	}
	var fe *schemas.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *schemas.FieldError", err, err)
	}
	if fe.Reason != c.reason {
		t.Errorf("Reason = %q, want %q (error: %v)", fe.Reason, c.reason, err)
	}
	if fe.Field != c.field {
		t.Errorf("Field = %q, want %q (error: %v)", fe.Field, c.field, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "schemas: "+string(c.reason)) {
		t.Errorf("Error() = %q, want prefix %q", msg, "schemas: "+string(c.reason))
	}
	if c.field != "" && !strings.Contains(msg, c.field) {
		t.Errorf("Error() = %q does not name the field %q", msg, c.field)
	}
	switch {
	case freeText[c.field]:
		if c.value != "" && strings.Contains(msg, c.value) {
			t.Errorf("Error() = %q shows the value of free-text field %s", msg, c.field)
		}
	case c.value != "" && !strings.Contains(msg, c.value):
		t.Errorf("Error() = %q does not contain the value %q", msg, c.value)
	}
}

// freeText lists the fields whose values may be personal data, which
// errors never show.
var freeText = map[string]bool{"str1": true, "str2": true, "str3": true, "str4": true, "str5": true, "ip": true, "clientUserAgent": true}

func TestDecodeRejectsInvalidJSON(t *testing.T) {
	inputs := []string{"", "{", "not json", `{"tenantId": "t1"`, `{"tenantId": "t1"} {}`, "[]", `"record"`, "42", `{"tenantId": 't1'}`}
	for _, kind := range allKinds {
		for _, in := range inputs {
			t.Run(kind.name+"/"+in, func(t *testing.T) {
				checkRejection(t, nil, rejection{kind: kind, data: []byte(in), reason: schemas.ReasonInvalidJSON})
			})
		}
	}
}

func TestDecodeNullIsMissingTenant(t *testing.T) {
	for _, kind := range allKinds {
		t.Run(kind.name, func(t *testing.T) {
			checkRejection(t, nil, rejection{kind: kind, data: []byte("null"), reason: schemas.ReasonMissingField, field: "tenantId"})
		})
	}
}

func TestDecodeRejectsMissingRequiredField(t *testing.T) {
	for _, kind := range allKinds {
		for _, field := range requiredFields[kind.name] {
			forms := map[string]any{"absent": nil, "null": raw("null"), "empty": ""}
			for form, value := range forms {
				t.Run(kind.name+"/"+field+"/"+form, func(t *testing.T) {
					data := encode(t, with(kind.record(), map[string]any{field: value}))
					reason := schemas.ReasonMissingField
					checkRejection(t, nil, rejection{kind: kind, data: data, reason: reason, field: field})
				})
			}
		}
	}
}

func TestDecodeRejectsIllTypedField(t *testing.T) {
	cases := []struct {
		kind  recordKind
		field string
		value json.RawMessage
	}{
		{clientKind, "tenantId", raw("5")},
		{sessionKind, "tenantId", raw("5")},
		{eventKind, "tenantId", raw("5")},
		{clientKind, "clientId", raw("true")},
		{clientKind, "clientCreated", raw("1569888000")},
		{clientKind, "clientUserAgent", raw("true")},
		{clientKind, "clientUserAgent", raw(`{"browser":"x"}`)},
		{clientKind, "clientUserAgent", raw(`["x"]`)},
		{clientKind, "country", raw(`["FI"]`)},
		{clientKind, "latitude", raw(`"60.1"`)},
		{clientKind, "clientScreenWidth", raw("false")},
		{sessionKind, "sessionCreated", raw("1569888000")},
		{sessionKind, "environment", raw("false")},
		{sessionKind, "spaceId", raw("7")},
		{sessionKind, "dataResidency", raw("1")},
		{sessionKind, "longitude", raw(`"east"`)},
		{eventKind, "eventTime", raw("1569888000")},
		{eventKind, "sessionId", raw("true")},
		{eventKind, "sessionId", raw("[1]")},
		{eventKind, "eventType", raw("1")},
		{eventKind, "interaction", raw(`"yes"`)},
		{eventKind, "stateful", raw("1")},
		{eventKind, "productId", raw("12")},
		{eventKind, "int1", raw(`"5"`)},
		{eventKind, "int1", raw("true")},
		{eventKind, "int2", raw(`{"n":1}`)},
		{eventKind, "int5", raw("[5]")},
		{eventKind, "str1", raw("5")},
		{eventKind, "public", raw(`"1000"`)},
	}
	for _, c := range cases {
		t.Run(c.kind.name+"/"+c.field+"="+string(c.value), func(t *testing.T) {
			data := encode(t, with(c.kind.record(), map[string]any{c.field: c.value}))
			checkRejection(t, nil, rejection{kind: c.kind, data: data, reason: schemas.ReasonInvalidField, field: c.field, value: string(c.value)})
		})
	}
}

func TestDecodeIllTypedFieldDetail(t *testing.T) {
	cases := []struct {
		field  string
		value  json.RawMessage
		detail string
	}{
		{"tenantId", raw("5"), "must be a string"},
		{"interaction", raw(`"yes"`), "must be a boolean"},
		{"int1", raw(`"5"`), "must be a number"},
		{"sessionId", raw("true"), "must be a string or a number"},
	}
	for _, c := range cases {
		t.Run(c.field, func(t *testing.T) {
			_, err := schemas.NewValidator().DecodeEvent(encode(t, with(eventRecord(), map[string]any{c.field: c.value})))
			var fe *schemas.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *schemas.FieldError", err)
			}
			if fe.Detail != c.detail {
				t.Errorf("Detail = %q, want %q", fe.Detail, c.detail)
			}
		})
	}
}

func TestDecodeIllTypedValueIsCompacted(t *testing.T) {
	data := []byte(`{"tenantId": {"a" :  1,
		"b": 2}}`)
	_, err := schemas.NewValidator().DecodeEvent(data)
	var fe *schemas.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want a *schemas.FieldError", err)
	}
	if fe.Value != `{"a":1,"b":2}` {
		t.Errorf("Value = %q, want the compact JSON %q", fe.Value, `{"a":1,"b":2}`)
	}
}

func TestDecodeIllTypedFieldMatchesNameCase(t *testing.T) {
	// encoding/json matches member names to fields case-insensitively, so
	// the error must find the value under the producer's spelling.
	data := encode(t, with(eventRecord(), map[string]any{"tenantId": nil, "TenantID": raw("5")}))
	checkRejection(t, nil, rejection{kind: eventKind, data: data, reason: schemas.ReasonInvalidField, field: "tenantId", value: "5"})
}

func TestDecodeRejectsUnknownRegion(t *testing.T) {
	for _, kind := range allKinds {
		for _, region := range []string{"MARS", "eu", "EU ", "Europe"} {
			t.Run(kind.name+"/"+region, func(t *testing.T) {
				data := encode(t, with(kind.record(), map[string]any{"dataResidency": region}))
				checkRejection(t, nil, rejection{kind: kind, data: data, reason: schemas.ReasonUnknownRegion, field: "dataResidency", value: region})
			})
		}
	}
}

func TestDecodeConfiguredRegions(t *testing.T) {
	v := schemas.NewValidator("EU", "CH")
	for _, kind := range allKinds {
		t.Run(kind.name, func(t *testing.T) {
			ch := encode(t, with(kind.record(), map[string]any{"dataResidency": "CH"}))
			if err := kind.decode(v, ch); err != nil {
				t.Errorf("region CH served by the validator: got %v", err)
			}
			us := encode(t, with(kind.record(), map[string]any{"dataResidency": "US"}))
			checkRejection(t, v, rejection{kind: kind, data: us, reason: schemas.ReasonUnknownRegion, field: "dataResidency", value: "US"})
		})
	}
}

func TestDecodeDefaultRegions(t *testing.T) {
	validators := map[string]*schemas.Validator{"nil": nil, "zero": {}, "NewValidator()": schemas.NewValidator()}
	for name, v := range validators {
		for _, region := range schemas.DefaultRegions {
			t.Run(name+"/"+region, func(t *testing.T) {
				data := encode(t, with(eventRecord(), map[string]any{"dataResidency": region}))
				if _, err := v.DecodeEvent(data); err != nil {
					t.Errorf("default region %s: got %v", region, err)
				}
			})
		}
	}
}

// padded returns a valid event of exactly size bytes, padded with an unknown
// member.
func padded(t *testing.T, size int) []byte {
	t.Helper()
	base := encode(t, with(eventRecord(), map[string]any{"padding": ""}))
	data := encode(t, with(eventRecord(), map[string]any{"padding": strings.Repeat("x", size-len(base))}))
	if len(data) != size {
		t.Fatalf("padded record is %d bytes, want %d", len(data), size)
	}
	return data
}

func TestDecodeRecordSizeLimit(t *testing.T) {
	v := schemas.NewValidator()
	if _, err := v.DecodeEvent(padded(t, schemas.MaxRecordBytes)); err != nil {
		t.Errorf("record of exactly %d bytes: got %v, want it accepted", schemas.MaxRecordBytes, err)
	}
	for _, kind := range allKinds {
		t.Run(kind.name, func(t *testing.T) {
			checkRejection(t, v, rejection{kind: kind, data: padded(t, schemas.MaxRecordBytes+1), reason: schemas.ReasonOversized, value: "65537 bytes"})
		})
	}
}

func TestDecodeOversizedBeforeParsing(t *testing.T) {
	// Invalid JSON over the limit is reported as oversized, so that a huge
	// record is rejected without being parsed.
	data := []byte("{" + strings.Repeat("x", schemas.MaxRecordBytes))
	checkRejection(t, nil, rejection{kind: eventKind, data: data, reason: schemas.ReasonOversized})
}

func TestDecodeRejectsQuantity(t *testing.T) {
	cases := []struct {
		value json.RawMessage
		// inMessage is the value as the error message quotes it.
		inMessage string
		detail    string
	}{
		{raw("0"), "0", "from 1 to 1000000"},
		{raw("-1"), "-1", "from 1 to 1000000"},
		{raw("1.5"), "1.5", "whole number"},
		{raw("1000000000000"), "1000000000000", "from 1 to 1000000"},
		{raw("1e12"), "1000000000000", "from 1 to 1000000"},
		{raw("1000001"), "1000001", "from 1 to 1000000"},
		{raw("9007199254740993"), "9007199254740993", "2^53"},
		{raw("1e400"), "1e400", "whole number"},
		{raw("-0.5"), "-0.5", "whole number"},
	}
	for _, eventType := range []string{schemas.EventCartAdd, schemas.EventCartRemove} {
		for _, c := range cases {
			t.Run(eventType+"/"+string(c.value), func(t *testing.T) {
				data := encode(t, with(eventRecord(), map[string]any{"eventType": eventType, "int1": c.value}))
				checkRejection(t, nil, rejection{kind: eventKind, data: data, reason: schemas.ReasonInvalidField, field: "int1", value: c.inMessage})
				checkRejection(t, nil, rejection{kind: eventKind, data: data, reason: schemas.ReasonInvalidField, field: "int1", value: c.detail})
			})
		}
	}
}

func TestDecodeAcceptsQuantity(t *testing.T) {
	cases := []struct {
		value json.RawMessage
		want  int64
	}{
		{raw("1"), 1},
		{raw("2.0"), 2},
		{raw("1e3"), 1000},
		{raw("1000000"), 1000000},
		{raw("25E1"), 250},
	}
	for _, c := range cases {
		t.Run(string(c.value), func(t *testing.T) {
			e, err := schemas.NewValidator().DecodeEvent(encode(t, with(eventRecord(), map[string]any{"int1": c.value})))
			if err != nil {
				t.Fatalf("got %v", err)
			}
			if e.Int1 == nil || *e.Int1 != c.want {
				t.Errorf("Int1 = %v, want %d", e.Int1, c.want)
			}
		})
	}
}

func TestDecodeQuantityAbsentOrNull(t *testing.T) {
	for name, value := range map[string]any{"absent": nil, "null": raw("null")} {
		t.Run(name, func(t *testing.T) {
			e, err := schemas.NewValidator().DecodeEvent(encode(t, with(eventRecord(), map[string]any{"int1": value})))
			if err != nil {
				t.Fatalf("got %v", err)
			}
			if e.Int1 != nil {
				t.Errorf("Int1 = %d, want nil so that the reducer applies its default", *e.Int1)
			}
		})
	}
}

func TestDecodeRating(t *testing.T) {
	rating := func(value any) []byte {
		return encode(t, with(eventRecord(), map[string]any{"eventType": "RATING", "productId": nil, "int1": value}))
	}
	for _, value := range []string{"0", "6", "-1", "100"} {
		t.Run("reject/"+value, func(t *testing.T) {
			checkRejection(t, nil, rejection{kind: eventKind, data: rating(raw(value)), reason: schemas.ReasonInvalidField, field: "int1", value: value})
		})
	}
	t.Run("reject/4.5", func(t *testing.T) {
		checkRejection(t, nil, rejection{kind: eventKind, data: rating(raw("4.5")), reason: schemas.ReasonInvalidField, field: "int1", value: "4.5"})
	})
	for name, value := range map[string]any{"absent": nil, "null": raw("null")} {
		t.Run("reject/"+name, func(t *testing.T) {
			checkRejection(t, nil, rejection{kind: eventKind, data: rating(value), reason: schemas.ReasonMissingField, field: "int1"})
		})
	}
	for _, value := range []int64{1, 3, 5} {
		e, err := schemas.NewValidator().DecodeEvent(rating(value))
		if err != nil {
			t.Errorf("rating %d: got %v", value, err)
			continue
		}
		if *e.Int1 != value {
			t.Errorf("rating %d: Int1 = %d", value, *e.Int1)
		}
	}
}

func TestDecodeRejectsIDCharacters(t *testing.T) {
	bad := map[string]string{
		"dot":          "a.b",
		"star":         "a*",
		"greater":      ">",
		"space":        "a b",
		"leading":      " a",
		"tab":          "a\tb",
		"newline":      "a\nb",
		"carriage":     "a\rb",
		"nul":          "a\x00b",
		"escape":       "a\x1bb",
		"delete":       "a\x7fb",
		"nbsp":         "a\u00a0b",
		"line sep":     "a\u2028b",
		"c1 control":   "a\u0085b",
		"ideographic":  "a\u3000b",
		"subject tail": "s1.>",
	}
	fields := []struct {
		kind  recordKind
		field string
	}{
		{clientKind, "tenantId"}, {clientKind, "clientId"},
		{sessionKind, "sessionId"}, {sessionKind, "spaceId"}, {sessionKind, "deviceId"},
		{sessionKind, "appId"}, {sessionKind, "installationId"}, {sessionKind, "captureId"},
		{eventKind, "tenantId"}, {eventKind, "sessionId"}, {eventKind, "clientId"},
		{eventKind, "productId"}, {eventKind, "categoryId"}, {eventKind, "captureId"},
	}
	for _, f := range fields {
		for name, id := range bad {
			t.Run(f.kind.name+"/"+f.field+"/"+name, func(t *testing.T) {
				data := encode(t, with(f.kind.record(), map[string]any{f.field: id}))
				checkRejection(t, nil, rejection{kind: f.kind, data: data, reason: schemas.ReasonInvalidField, field: f.field})
			})
		}
	}
}

func TestDecodeIDLength(t *testing.T) {
	longest := strings.Repeat("a", schemas.MaxIDBytes)
	data := encode(t, with(eventRecord(), map[string]any{"productId": longest}))
	if _, err := schemas.NewValidator().DecodeEvent(data); err != nil {
		t.Errorf("id of %d bytes: got %v", schemas.MaxIDBytes, err)
	}

	data = encode(t, with(eventRecord(), map[string]any{"productId": longest + "a"}))
	checkRejection(t, nil, rejection{kind: eventKind, data: data, reason: schemas.ReasonInvalidField, field: "productId", value: "257 bytes"})
}

func TestDecodeAcceptsUnicodeID(t *testing.T) {
	data := encode(t, with(eventRecord(), map[string]any{"productId": "kenkä-42", "sessionId": "セッション"}))
	e, err := schemas.NewValidator().DecodeEvent(data)
	if err != nil {
		t.Fatalf("got %v", err)
	}
	if e.ProductID != "kenkä-42" || e.SessionID != "セッション" {
		t.Errorf("ProductID, SessionID = %q, %q", e.ProductID, e.SessionID)
	}
}

func TestDecodeErrorValueIsShortened(t *testing.T) {
	id := strings.Repeat("a", 300) + " b"
	_, err := schemas.NewValidator().DecodeEvent(encode(t, with(eventRecord(), map[string]any{"productId": id})))
	var fe *schemas.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want a *schemas.FieldError", err)
	}
	if len(fe.Value) > 80 {
		t.Errorf("Value is %d bytes, want it shortened: %q", len(fe.Value), fe.Value)
	}
	if !strings.HasSuffix(fe.Value, "...") {
		t.Errorf("Value = %q, want a trailing ... to show it was shortened", fe.Value)
	}
}

func TestDecodeRejectsTime(t *testing.T) {
	bad := []string{
		"2019-10-01 00:00:00 UTC",
		"2019-10-01 00:00:00Z",
		"2019-10-01",
		"2019-10-01T00:00:00",
		"2019-10-01T00:00:00+0200",
		"1569888000",
		"Tue, 01 Oct 2019 00:00:00 GMT",
		"2019-13-01T00:00:00Z",
		"2019-10-32T00:00:00Z",
		"2019-10-01T25:00:00Z",
		"yesterday",
	}
	fields := []struct {
		kind  recordKind
		field string
	}{{clientKind, "clientCreated"}, {sessionKind, "sessionCreated"}, {eventKind, "eventTime"}}
	for _, f := range fields {
		for _, value := range bad {
			t.Run(f.kind.name+"/"+value, func(t *testing.T) {
				data := encode(t, with(f.kind.record(), map[string]any{f.field: value}))
				checkRejection(t, nil, rejection{kind: f.kind, data: data, reason: schemas.ReasonInvalidField, field: f.field, value: value})
			})
		}
	}
}

func TestDecodeEventTime(t *testing.T) {
	cases := map[string]time.Time{
		"2019-10-01T00:00:00Z":           time.Date(2019, 10, 1, 0, 0, 0, 0, time.UTC),
		"2019-10-01T02:00:00.123+02:00":  time.Date(2019, 10, 1, 0, 0, 0, 123e6, time.UTC),
		"2019-10-01T00:00:00.123456789Z": time.Date(2019, 10, 1, 0, 0, 0, 123456789, time.UTC),
	}
	for value, want := range cases {
		t.Run(value, func(t *testing.T) {
			e, err := schemas.NewValidator().DecodeEvent(encode(t, with(eventRecord(), map[string]any{"eventTime": value})))
			if err != nil {
				t.Fatalf("got %v", err)
			}
			if !e.Time.Equal(want) {
				t.Errorf("Time = %v, want %v", e.Time, want)
			}
			if e.EventTime != value {
				t.Errorf("EventTime = %q, want the original text %q", e.EventTime, value)
			}
		})
	}
}

func TestDecodeEventFieldRules(t *testing.T) {
	long := strings.Repeat("q", schemas.MaxSearchBytes+1)
	cases := []struct {
		name    string
		members map[string]any
		reason  schemas.Reason
		field   string
	}{
		{"cart add without product", map[string]any{"productId": nil}, schemas.ReasonMissingField, "productId"},
		{"cart remove without product", map[string]any{"eventType": "CART_REMOVE", "productId": ""}, schemas.ReasonMissingField, "productId"},
		{"search without query", map[string]any{"eventType": "SEARCH"}, schemas.ReasonMissingField, "str1"},
		{"search with empty query", map[string]any{"eventType": "SEARCH", "str1": ""}, schemas.ReasonMissingField, "str1"},
		{"search query too long", map[string]any{"eventType": "SEARCH", "str1": long}, schemas.ReasonInvalidField, "str1"},
		{"contact without type", map[string]any{"eventType": "CONTACT_IDENTIFY", "str2": "a@example.com"}, schemas.ReasonMissingField, "str1"},
		{"contact without value", map[string]any{"eventType": "CONTACT_IDENTIFY", "str1": "email"}, schemas.ReasonMissingField, "str2"},
		{"contact with blank type", map[string]any{"eventType": "CONTACT_IDENTIFY", "str1": " \t", "str2": "a@example.com"}, schemas.ReasonMissingField, "str1"},
		{"contact with blank value", map[string]any{"eventType": "CONTACT_IDENTIFY", "str1": "email", "str2": "  "}, schemas.ReasonMissingField, "str2"},
		{"event type with space", map[string]any{"eventType": "CART ADD"}, schemas.ReasonInvalidField, "eventType"},
		{"event type with dot", map[string]any{"eventType": "a.b"}, schemas.ReasonInvalidField, "eventType"},
		{"event type too long", map[string]any{"eventType": strings.Repeat("E", schemas.MaxEventTypeBytes+1)}, schemas.ReasonInvalidField, "eventType"},
		{"stateful built-in type", map[string]any{"stateful": true, "str1": "x"}, schemas.ReasonInvalidField, "stateful"},
		{"stateful CART key", map[string]any{"eventType": "CART", "stateful": true, "str1": "x"}, schemas.ReasonInvalidField, "stateful"},
		{"stateful without value", map[string]any{"eventType": "MOOD", "stateful": true}, schemas.ReasonMissingField, "str1"},
		{"stateful public zero", map[string]any{"eventType": "MOOD", "stateful": true, "str1": "x", "public": 0}, schemas.ReasonInvalidField, "public"},
		{"stateful public negative", map[string]any{"eventType": "MOOD", "stateful": true, "str1": "x", "public": -5}, schemas.ReasonInvalidField, "public"},
		{"stateful public fraction", map[string]any{"eventType": "MOOD", "stateful": true, "str1": "x", "public": raw("1.5")}, schemas.ReasonInvalidField, "public"},
		{"str3 too long", map[string]any{"str3": strings.Repeat("s", schemas.MaxTextBytes+1)}, schemas.ReasonInvalidField, "str3"},
		{"int2 fraction", map[string]any{"int2": raw("0.5")}, schemas.ReasonInvalidField, "int2"},
		{"int4 beyond 2^53", map[string]any{"int4": raw("1e16")}, schemas.ReasonInvalidField, "int4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := encode(t, with(eventRecord(), c.members))
			checkRejection(t, nil, rejection{kind: eventKind, data: data, reason: c.reason, field: c.field})
		})
	}
}

func TestDecodeFlexibleStringFields(t *testing.T) {
	v := schemas.NewValidator()
	for _, c := range []struct {
		value json.RawMessage
		want  string
	}{{raw("5"), "5"}, {raw(`"Mozilla/5.0"`), "Mozilla/5.0"}, {raw("1.25"), "1.25"}} {
		c2, err := v.DecodeClient(encode(t, with(clientRecord(), map[string]any{"clientUserAgent": c.value})))
		if err != nil {
			t.Errorf("clientUserAgent %s: got %v", c.value, err)
		} else if c2.ClientUserAgent != c.want {
			t.Errorf("clientUserAgent %s: got %q, want %q", c.value, c2.ClientUserAgent, c.want)
		}

		s, err := v.DecodeSession(encode(t, with(sessionRecord(), map[string]any{"environment": c.value})))
		if err != nil {
			t.Errorf("environment %s: got %v", c.value, err)
		} else if s.Environment != c.want {
			t.Errorf("environment %s: got %q, want %q", c.value, s.Environment, c.want)
		}
	}

	for _, c := range []struct {
		value json.RawMessage
		want  string
	}{{raw("12345"), "12345"}, {raw(`"s-12345"`), "s-12345"}, {raw("-7"), "-7"}, {raw("1e3"), "1e3"}} {
		e, err := v.DecodeEvent(encode(t, with(eventRecord(), map[string]any{"sessionId": c.value})))
		if err != nil {
			t.Errorf("sessionId %s: got %v", c.value, err)
		} else if e.SessionID != c.want {
			t.Errorf("sessionId %s: got %q, want %q", c.value, e.SessionID, c.want)
		}
	}
}

func TestDecodeNumericSessionIDWithFraction(t *testing.T) {
	// A number is kept as its text, so 1.5 becomes the id "1.5", and '.'
	// is not allowed in ids.
	data := encode(t, with(eventRecord(), map[string]any{"sessionId": raw("1.5")}))
	checkRejection(t, nil, rejection{kind: eventKind, data: data, reason: schemas.ReasonInvalidField, field: "sessionId", value: "1.5"})
}

func TestDecodeIgnoresUnknownFields(t *testing.T) {
	extra := map[string]any{"sdkVersion": "9.9", "nested": map[string]any{"a": []int{1, 2}}, "flag": true, "n": 1.5}
	for _, kind := range allKinds {
		t.Run(kind.name, func(t *testing.T) {
			if err := kind.decode(nil, encode(t, with(kind.record(), extra))); err != nil {
				t.Errorf("got %v", err)
			}
		})
	}
}

func TestDecodeClientFields(t *testing.T) {
	c, err := schemas.NewValidator().DecodeClient(encode(t, clientRecord()))
	if err != nil {
		t.Fatalf("got %v", err)
	}
	if c.TenantID != "t1" || c.ClientID != "c1" || c.ClientCreated != "2019-10-01T00:00:00Z" {
		t.Errorf("ids and time = %q %q %q", c.TenantID, c.ClientID, c.ClientCreated)
	}
	if c.ClientUserAgent != "Mozilla/5.0 (X11; Linux x86_64)" || c.DataResidency != "EU" || c.Country != "FI" {
		t.Errorf("agent, region, country = %q %q %q", c.ClientUserAgent, c.DataResidency, c.Country)
	}
	floats := map[string]*float64{
		"locationAccuracy": c.LocationAccuracy, "latitude": c.Latitude, "longitude": c.Longitude,
		"clientScreenWidth": c.ClientScreenWidth, "clientScreenHeight": c.ClientScreenHeight,
		"clientScreenColorDepth": c.ClientScreenColorDepth, "clientScreenPixelDepth": c.ClientScreenPixelDepth,
	}
	want := map[string]float64{
		"locationAccuracy": 10, "latitude": 60.17, "longitude": 24.94, "clientScreenWidth": 1920,
		"clientScreenHeight": 1080, "clientScreenColorDepth": 24, "clientScreenPixelDepth": 24,
	}
	for name, p := range floats {
		if p == nil || *p != want[name] {
			t.Errorf("%s = %v, want %v", name, p, want[name])
		}
	}
}

func TestDecodeClientOptionalFieldsAbsent(t *testing.T) {
	record := with(clientRecord(), map[string]any{
		"locationAccuracy": nil, "latitude": nil, "longitude": nil, "clientScreenWidth": nil,
		"clientScreenHeight": nil, "clientScreenColorDepth": nil, "clientScreenPixelDepth": nil,
	})
	c, err := schemas.NewValidator().DecodeClient(encode(t, record))
	if err != nil {
		t.Fatalf("got %v", err)
	}
	if c.Latitude != nil || c.ClientScreenWidth != nil {
		t.Errorf("absent optional fields decoded as %v, %v, want nil", c.Latitude, c.ClientScreenWidth)
	}
}

func TestDecodeSessionFields(t *testing.T) {
	s, err := schemas.NewValidator().DecodeSession(encode(t, with(sessionRecord(), map[string]any{"captureId": "cap-9", "latitude": 1.5})))
	if err != nil {
		t.Fatalf("got %v", err)
	}
	want := schemas.Session{
		TenantID: "t1", SessionID: "s1", SessionCreated: "2019-10-01T00:00:00Z", Environment: "production",
		DataResidency: "EU", Country: "FI", SpaceID: "store-7", AppID: "kiosk", AppVersion: "1.2.3",
		InstallationID: "i1", InstallationVersion: "4.5.6", DeviceID: "d1", ClientID: "c1", CaptureID: "cap-9",
	}
	got := *s
	if got.Latitude == nil || *got.Latitude != 1.5 {
		t.Errorf("Latitude = %v, want 1.5", got.Latitude)
	}
	got.Latitude = nil
	if got != want {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
}

func TestDecodeEventFields(t *testing.T) {
	record := with(eventRecord(), map[string]any{
		"eventType": "PRODUCT_VIEW", "interaction": true, "ip": "192.0.2.1", "categoryId": "shoes",
		"int1": 1, "int2": -2, "int3": raw("3.0"), "int4": 4, "int5": raw("5e0"),
		"str1": "a", "str2": "b", "str3": "", "str4": "d", "str5": "e",
	})
	e, err := schemas.NewValidator().DecodeEvent(encode(t, record))
	if err != nil {
		t.Fatalf("got %v", err)
	}
	if e.TenantID != "t1" || e.SessionID != "s1" || e.ClientID != "c1" || e.CaptureID != "cap-1" || e.DataResidency != "EU" {
		t.Errorf("ids = %q %q %q %q %q", e.TenantID, e.SessionID, e.ClientID, e.CaptureID, e.DataResidency)
	}
	if e.EventType != "PRODUCT_VIEW" || !e.Interaction || e.IP != "192.0.2.1" || e.ProductID != "p1" || e.CategoryID != "shoes" {
		t.Errorf("type, interaction, ip, product, category = %q %v %q %q %q", e.EventType, e.Interaction, e.IP, e.ProductID, e.CategoryID)
	}
	ints := []*int64{e.Int1, e.Int2, e.Int3, e.Int4, e.Int5}
	for i, want := range []int64{1, -2, 3, 4, 5} {
		if ints[i] == nil || *ints[i] != want {
			t.Errorf("int%d = %v, want %d", i+1, ints[i], want)
		}
	}
	strs := []*string{e.Str1, e.Str2, e.Str3, e.Str4, e.Str5}
	for i, want := range []string{"a", "b", "", "d", "e"} {
		if strs[i] == nil || *strs[i] != want {
			t.Errorf("str%d = %v, want %q", i+1, strs[i], want)
		}
	}
	if e.Stateful || e.Public != nil {
		t.Errorf("Stateful, Public = %v, %v, want false, nil", e.Stateful, e.Public)
	}
}

func TestDecodeStatefulEvent(t *testing.T) {
	record := with(eventRecord(), map[string]any{"eventType": "MOOD", "productId": nil, "stateful": true, "int1": 3, "public": 60000})
	e, err := schemas.NewValidator().DecodeEvent(encode(t, record))
	if err != nil {
		t.Fatalf("got %v", err)
	}
	if !e.Stateful || e.Public == nil || *e.Public != 60000 || e.Int1 == nil || *e.Int1 != 3 {
		t.Errorf("Stateful, Public, Int1 = %v, %v, %v", e.Stateful, e.Public, e.Int1)
	}
}

func TestDecodeEventJSONRoundTrip(t *testing.T) {
	// The decoded event's JSON is what event subscribers receive, so it must
	// decode to the same event.
	v := schemas.NewValidator()
	record := with(eventRecord(), map[string]any{"int1": 2, "str1": "x", "interaction": true})
	first, err := v.DecodeEvent(encode(t, record))
	if err != nil {
		t.Fatalf("got %v", err)
	}
	out, err := json.Marshal(first)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	second, err := v.DecodeEvent(out)
	if err != nil {
		t.Fatalf("decode of %s: %v", out, err)
	}
	if first.EventTime != second.EventTime || !first.Time.Equal(second.Time) || *first.Int1 != *second.Int1 || *first.Str1 != *second.Str1 {
		t.Errorf("round trip changed the event:\n%+v\n%+v", first, second)
	}
	for _, member := range []string{`"captureId"`, `"interaction"`, `"ip"`, `"productId"`} {
		if !strings.Contains(string(out), member) {
			t.Errorf("event JSON %s lacks %s", out, member)
		}
	}
}

func TestDecodeRejectsAmbiguousMembers(t *testing.T) {
	v := schemas.NewValidator()
	base := `"eventTime":"2026-01-02T10:00:00Z","dataResidency":"EU","sessionId":"s1","clientId":"c1","eventType":"PRODUCT_VIEW"`
	cases := []struct {
		name, json string
		field      string
	}{
		{"duplicate member", `{"tenantId":"tA",` + base + `,"tenantId":"tB"}`, "tenantId"},
		{"member in another case", `{"tenantId":"tA",` + base + `,"TenantID":"tB"}`, "TenantID"},
		{"duplicate unknown member", `{"tenantId":"tA",` + base + `,"x":1,"x":2}`, "x"},
		{"duplicate through an escape", `{"tenantId":"tA",` + base + `,"tenant\u0049d":"tB"}`, "tenantId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.DecodeEvent([]byte(c.json))
			var fe *schemas.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("DecodeEvent: %v, want a FieldError", err)
			}
			if fe.Field != c.field {
				t.Errorf("Field = %q, want %q (%v)", fe.Field, c.field, err)
			}
		})
	}
}

func TestDecodeRejectsInvalidUTF8(t *testing.T) {
	v := schemas.NewValidator()
	cases := map[string]string{
		"raw byte":       "{\"tenantId\":\"t1\",\"eventTime\":\"2026-01-02T10:00:00Z\",\"dataResidency\":\"EU\",\"sessionId\":\"s1\",\"clientId\":\"c1\",\"eventType\":\"CART_ADD\",\"productId\":\"p\xff\"}",
		"lone surrogate": `{"tenantId":"t1","eventTime":"2026-01-02T10:00:00Z","dataResidency":"EU","sessionId":"s1","clientId":"c1","eventType":"CART_ADD","productId":"p\ud800"}`,
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if e, err := v.DecodeEvent([]byte(data)); err == nil {
				t.Errorf("accepted, productId %q", e.ProductID)
			}
		})
	}
}
