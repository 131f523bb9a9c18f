package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Reason is a short, stable code for why a record was rejected. It appears in
// dead-letter headers, metrics labels and logs.
type Reason string

const (
	ReasonInvalidJSON   Reason = "invalid_json"
	ReasonMissingField  Reason = "missing_field"
	ReasonInvalidField  Reason = "invalid_field"
	ReasonUnknownRegion Reason = "unknown_region"
	ReasonOversized     Reason = "oversized"
	ReasonLimitExceeded Reason = "limit_exceeded"
)

// maxQuotedValue is how many bytes of an offending value an error message
// quotes, so a huge field cannot blow up logs or dead-letter headers.
const maxQuotedValue = 64

// FieldError reports a record that was rejected because of one field.
type FieldError struct {
	Reason Reason
	// Field is the JSON field name, or "" when the whole record is at fault.
	Field string
	// Value is the offending value as text, already shortened for display.
	Value string
	// Detail states what is wrong in a few words, such as "must be 1 to 5".
	Detail string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("schemas: %s: %s", e.Reason, e.Detail)
	}
	if e.Value == "" {
		return fmt.Sprintf("schemas: %s %s: %s", e.Reason, e.Field, e.Detail)
	}
	return fmt.Sprintf("schemas: %s %s %s: %s", e.Reason, e.Field, e.Value, e.Detail)
}

// freeTextFields may carry personal data, such as a contact value in str2
// or a search query in str1. Errors give only the length of their values,
// because errors reach logs and dead-letter headers.
var freeTextFields = map[string]bool{
	"str1": true, "str2": true, "str3": true, "str4": true, "str5": true,
	"ip": true, "clientUserAgent": true,
}

// redacted describes a free-text value without showing it.
func redacted(value string) string { return fmt.Sprintf("(%d bytes, not shown)", len(value)) }

// fieldErr builds a FieldError, quoting and shortening a string value.
func fieldErr(reason Reason, field, value, detail string) *FieldError {
	if value == "" {
		return &FieldError{Reason: reason, Field: field, Detail: detail}
	}
	if freeTextFields[field] {
		return &FieldError{Reason: reason, Field: field, Value: redacted(value), Detail: detail}
	}
	return &FieldError{Reason: reason, Field: field, Value: quote(value), Detail: detail}
}

// rawFieldErr builds a FieldError for a value that is already JSON text, such
// as the number 5 where a string was expected. It removes insignificant white
// space and shortens the text but does not quote it.
func rawFieldErr(reason Reason, field, raw, detail string) *FieldError {
	if freeTextFields[field] {
		return &FieldError{Reason: reason, Field: field, Value: redacted(raw), Detail: detail}
	}
	var compact bytes.Buffer
	if json.Compact(&compact, []byte(raw)) == nil {
		raw = compact.String()
	}
	if len(raw) > maxQuotedValue {
		raw = strings.ToValidUTF8(raw[:maxQuotedValue], "") + "..."
	}
	return &FieldError{Reason: reason, Field: field, Value: raw, Detail: detail}
}

func quote(v string) string {
	if len(v) > maxQuotedValue {
		return strconv.Quote(v[:maxQuotedValue]) + "..."
	}
	return strconv.Quote(v)
}
