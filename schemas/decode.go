package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxRecordBytes is the largest record, in bytes of JSON, that is accepted.
const MaxRecordBytes = 64 << 10

// maxSafeInt is the largest integer a JSON number carries exactly in every
// client language (2^53).
const maxSafeInt = 1 << 53

// flexString decodes a JSON string or number into its text. The seed API
// documents some identifiers as numbers while real clients send strings.
// A value of any other JSON type is kept in bad so that the caller can name
// the field in its error.
type flexString struct {
	value string
	bad   string
}

func (f *flexString) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &f.value)
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		f.bad = string(b)
		return nil
	}
	f.value = n.String()
	return nil
}

// check returns an error naming field when the value was neither a string
// nor a number.
func (f *flexString) check(field string) error {
	if f.bad == "" {
		return nil
	}
	return rawFieldErr(ReasonInvalidField, field, f.bad, "must be a string or a number")
}

// wireNumber decodes a JSON number and keeps its text. A value of any other
// JSON type, a quoted number included, is kept in bad so that the caller can
// name the field in its error.
type wireNumber struct {
	value *json.Number
	bad   string
}

func (n *wireNumber) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	// The decoder passes one complete, valid JSON value, so a leading minus
	// sign or digit means a number token.
	if len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9') {
		v := json.Number(b)
		n.value = &v
		return nil
	}
	n.bad = string(b)
	return nil
}

type clientWire struct {
	TenantID               *string    `json:"tenantId"`
	ClientID               *string    `json:"clientId"`
	ClientCreated          *string    `json:"clientCreated"`
	ClientUserAgent        flexString `json:"clientUserAgent"`
	DataResidency          *string    `json:"dataResidency"`
	Country                *string    `json:"country"`
	LocationAccuracy       *float64   `json:"locationAccuracy"`
	Latitude               *float64   `json:"latitude"`
	Longitude              *float64   `json:"longitude"`
	ClientScreenWidth      *float64   `json:"clientScreenWidth"`
	ClientScreenHeight     *float64   `json:"clientScreenHeight"`
	ClientScreenColorDepth *float64   `json:"clientScreenColorDepth"`
	ClientScreenPixelDepth *float64   `json:"clientScreenPixelDepth"`
	CaptureID              *string    `json:"captureId"`
}

type sessionWire struct {
	TenantID            *string    `json:"tenantId"`
	SessionID           *string    `json:"sessionId"`
	SessionCreated      *string    `json:"sessionCreated"`
	Environment         flexString `json:"environment"`
	DataResidency       *string    `json:"dataResidency"`
	Country             *string    `json:"country"`
	SpaceID             *string    `json:"spaceId"`
	AppID               *string    `json:"appId"`
	AppVersion          *string    `json:"appVersion"`
	InstallationID      *string    `json:"installationId"`
	InstallationVersion *string    `json:"installationVersion"`
	DeviceID            *string    `json:"deviceId"`
	ClientID            *string    `json:"clientId"`
	LocationAccuracy    *float64   `json:"locationAccuracy"`
	Latitude            *float64   `json:"latitude"`
	Longitude           *float64   `json:"longitude"`
	CaptureID           *string    `json:"captureId"`
}

type eventWire struct {
	CaptureID     *string    `json:"captureId"`
	ClientID      *string    `json:"clientId"`
	DataResidency *string    `json:"dataResidency"`
	EventTime     *string    `json:"eventTime"`
	EventType     *string    `json:"eventType"`
	Interaction   *bool      `json:"interaction"`
	IP            *string    `json:"ip"`
	ProductID     *string    `json:"productId"`
	SessionID     flexString `json:"sessionId"`
	TenantID      *string    `json:"tenantId"`
	CategoryID    *string    `json:"categoryId"`
	Int1          wireNumber `json:"int1"`
	Int2          wireNumber `json:"int2"`
	Int3          wireNumber `json:"int3"`
	Int4          wireNumber `json:"int4"`
	Int5          wireNumber `json:"int5"`
	Str1          *string    `json:"str1"`
	Str2          *string    `json:"str2"`
	Str3          *string    `json:"str3"`
	Str4          *string    `json:"str4"`
	Str5          *string    `json:"str5"`
	Stateful      *bool      `json:"stateful"`
	Public        wireNumber `json:"public"`
}

// unmarshal decodes one JSON object into v and turns decoding failures into a
// FieldError. Unknown fields are ignored so that newer producers keep working.
func unmarshal(data []byte, v any) error {
	if err := checkRecord(data); err != nil {
		return err
	}
	return unmarshalChecked(data, v)
}

// checkRecord applies the checks that come before parsing: size and UTF-8.
func checkRecord(data []byte) error {
	if len(data) > MaxRecordBytes {
		return &FieldError{Reason: ReasonOversized, Detail: fmt.Sprintf("record is %d bytes, the limit is %d", len(data), MaxRecordBytes)}
	}
	if !utf8.Valid(data) {
		// encoding/json would turn invalid bytes into U+FFFD, so two
		// different ids could decode to the same one.
		return &FieldError{Reason: ReasonInvalidJSON, Detail: "record is not valid UTF-8"}
	}
	return nil
}

// unmarshalChecked is unmarshal for data that passed checkRecord.
func unmarshalChecked(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return checkMemberNames(data)
	}

	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		value := rawField(data, typeErr.Field)
		if value == "" {
			value = typeErr.Value
		}
		return rawFieldErr(ReasonInvalidField, typeErr.Field, value, "must be "+jsonKind(typeErr.Type.Kind().String()))
	}
	return &FieldError{Reason: ReasonInvalidJSON, Detail: err.Error()}
}

// rawField returns the JSON text of the top-level member name of the object
// in data, or "" when there is none. Member names match case-insensitively,
// as encoding/json matches them to struct fields.
func rawField(data []byte, name string) string {
	var members map[string]json.RawMessage
	if json.Unmarshal(data, &members) != nil {
		return ""
	}
	if v, ok := members[name]; ok {
		return string(v)
	}
	for k, v := range members {
		if strings.EqualFold(k, name) {
			return string(v)
		}
	}
	return ""
}

// jsonKind names a Go kind the way a JSON producer thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "float64", "int64":
		return "a number"
	case "ptr":
		return "of another type"
	}
	return "a " + kind
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// wholeNumber parses a JSON number that must be a whole number within
// ±2^53. It accepts forms such as 2, 2.0 and 2e3.
func wholeNumber(field string, n json.Number) (int64, error) {
	if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		if i > maxSafeInt || i < -maxSafeInt {
			return 0, fieldErr(ReasonInvalidField, field, n.String(), "must be within ±2^53")
		}
		return i, nil
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || f != math.Trunc(f) {
		return 0, fieldErr(ReasonInvalidField, field, n.String(), "must be a whole number")
	}
	if f > maxSafeInt || f < -maxSafeInt {
		return 0, fieldErr(ReasonInvalidField, field, n.String(), "must be within ±2^53")
	}
	return int64(f), nil
}

func optionalWhole(field string, n wireNumber) (*int64, error) {
	if n.bad != "" {
		return nil, rawFieldErr(ReasonInvalidField, field, n.bad, "must be a number")
	}
	if n.value == nil {
		return nil, nil
	}
	v, err := wholeNumber(field, *n.value)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// DecodeClient decodes and validates a client record.
func (v *Validator) DecodeClient(data []byte) (*Client, error) {
	var w clientWire
	if err := unmarshal(data, &w); err != nil {
		return nil, err
	}
	if err := w.ClientUserAgent.check("clientUserAgent"); err != nil {
		return nil, err
	}
	c := &Client{
		TenantID:               str(w.TenantID),
		ClientID:               str(w.ClientID),
		ClientCreated:          str(w.ClientCreated),
		ClientUserAgent:        w.ClientUserAgent.value,
		DataResidency:          str(w.DataResidency),
		Country:                str(w.Country),
		LocationAccuracy:       w.LocationAccuracy,
		Latitude:               w.Latitude,
		Longitude:              w.Longitude,
		ClientScreenWidth:      w.ClientScreenWidth,
		ClientScreenHeight:     w.ClientScreenHeight,
		ClientScreenColorDepth: w.ClientScreenColorDepth,
		ClientScreenPixelDepth: w.ClientScreenPixelDepth,
		CaptureID:              str(w.CaptureID),
	}
	if err := v.ValidateClient(c); err != nil {
		return nil, err
	}
	return c, nil
}

// DecodeSession decodes and validates a session record.
func (v *Validator) DecodeSession(data []byte) (*Session, error) {
	var w sessionWire
	if err := unmarshal(data, &w); err != nil {
		return nil, err
	}
	if err := w.Environment.check("environment"); err != nil {
		return nil, err
	}
	s := &Session{
		TenantID:            str(w.TenantID),
		SessionID:           str(w.SessionID),
		SessionCreated:      str(w.SessionCreated),
		Environment:         w.Environment.value,
		DataResidency:       str(w.DataResidency),
		Country:             str(w.Country),
		SpaceID:             str(w.SpaceID),
		AppID:               str(w.AppID),
		AppVersion:          str(w.AppVersion),
		InstallationID:      str(w.InstallationID),
		InstallationVersion: str(w.InstallationVersion),
		DeviceID:            str(w.DeviceID),
		ClientID:            str(w.ClientID),
		LocationAccuracy:    w.LocationAccuracy,
		Latitude:            w.Latitude,
		Longitude:           w.Longitude,
		CaptureID:           str(w.CaptureID),
	}
	if err := v.ValidateSession(s); err != nil {
		return nil, err
	}
	return s, nil
}

// DecodeEvent decodes and validates an event record and sets its Time.
func (v *Validator) DecodeEvent(data []byte) (*Event, error) {
	var w eventWire
	if err := checkRecord(data); err != nil {
		return nil, err
	}
	if !scanEvent(data, &w) {
		w = eventWire{}
		if err := unmarshalChecked(data, &w); err != nil {
			return nil, err
		}
	}
	if err := w.SessionID.check("sessionId"); err != nil {
		return nil, err
	}
	e := &Event{
		CaptureID:     str(w.CaptureID),
		ClientID:      str(w.ClientID),
		DataResidency: str(w.DataResidency),
		EventTime:     str(w.EventTime),
		EventType:     str(w.EventType),
		IP:            str(w.IP),
		ProductID:     str(w.ProductID),
		SessionID:     w.SessionID.value,
		TenantID:      str(w.TenantID),
		CategoryID:    str(w.CategoryID),
		Str1:          w.Str1,
		Str2:          w.Str2,
		Str3:          w.Str3,
		Str4:          w.Str4,
		Str5:          w.Str5,
	}
	if w.Interaction != nil {
		e.Interaction = *w.Interaction
	}
	if w.Stateful != nil {
		e.Stateful = *w.Stateful
	}

	ints := []struct {
		name string
		in   wireNumber
		out  **int64
	}{
		{"int1", w.Int1, &e.Int1}, {"int2", w.Int2, &e.Int2}, {"int3", w.Int3, &e.Int3},
		{"int4", w.Int4, &e.Int4}, {"int5", w.Int5, &e.Int5}, {"public", w.Public, &e.Public},
	}
	for _, f := range ints {
		n, err := optionalWhole(f.name, f.in)
		if err != nil {
			return nil, err
		}
		*f.out = n
	}

	if err := v.ValidateEvent(e); err != nil {
		return nil, err
	}
	return e, nil
}
