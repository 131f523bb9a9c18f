package schemas

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on single fields. They keep one record from exhausting the memory of
// a session's state or the length of a NATS subject.
const (
	MaxIDBytes        = 256
	MaxEventTypeBytes = 64
	MaxSearchBytes    = 1024
	// MaxStatefulValueBytes bounds a stateful string value, so that a
	// session's 64 stateful keys stay well below Kafka's 1 MB message
	// limit in the changelog.
	MaxStatefulValueBytes = 1024
	MaxTextBytes          = 16 << 10
	MinQuantity           = 1
	MaxQuantity           = 1_000_000
	MinRating             = 1
	MaxRating             = 5
)

// DefaultRegions are the data residency regions a deployment serves unless
// configured otherwise.
var DefaultRegions = []string{"EU", "US", "UAE", "AU", "IN"}

// Validator checks records against the regions a deployment serves. The zero
// value serves DefaultRegions. A Validator is safe for concurrent use.
type Validator struct {
	// Regions lists the served dataResidency values; empty means
	// DefaultRegions.
	Regions []string
}

// NewValidator returns a Validator serving regions, or DefaultRegions when
// regions is empty.
func NewValidator(regions ...string) *Validator {
	return &Validator{Regions: regions}
}

func (v *Validator) regions() []string {
	if v == nil || len(v.Regions) == 0 {
		return DefaultRegions
	}
	return v.Regions
}

func (v *Validator) checkRegion(region string) error {
	if region == "" {
		return fieldErr(ReasonMissingField, "dataResidency", "", "is required")
	}
	if !slices.Contains(v.regions(), region) {
		return fieldErr(ReasonUnknownRegion, "dataResidency", region, "must be one of "+strings.Join(v.regions(), ", "))
	}
	return nil
}

// checkID enforces the rules every identifier follows: 1 to MaxIDBytes bytes
// of UTF-8 without white space, control characters or the NATS subject
// characters '.', '*' and '>'.
func checkID(field, id string, required bool) error {
	if id == "" {
		if required {
			return fieldErr(ReasonMissingField, field, "", "is required")
		}
		return nil
	}
	if len(id) > MaxIDBytes {
		return fieldErr(ReasonInvalidField, field, id, fmt.Sprintf("is %d bytes, the limit is %d", len(id), MaxIDBytes))
	}
	if !utf8.ValidString(id) {
		return fieldErr(ReasonInvalidField, field, id, "must be valid UTF-8")
	}
	for _, r := range id {
		switch {
		case r == '.' || r == '*' || r == '>':
			return fieldErr(ReasonInvalidField, field, id, fmt.Sprintf("must not contain %q", r))
		case unicode.IsSpace(r) || unicode.IsControl(r):
			return fieldErr(ReasonInvalidField, field, id, "must not contain white space or control characters")
		case r == utf8.RuneError:
			// JSON decoding writes U+FFFD for a lone surrogate escape such
			// as \ud800, so two different ids could end up equal.
			return fieldErr(ReasonInvalidField, field, id, "must not contain U+FFFD or an invalid \\u escape")
		}
	}
	return nil
}

// CheckID returns a *FieldError naming field when value is empty or breaks
// the identifier rules of records: 1 to MaxIDBytes bytes of UTF-8 without
// white space, control characters, '.', '*' or '>'. It lets other packages
// validate ids that do not come from records, such as the tenant of an
// access key.
func CheckID(field, value string) error {
	return checkID(field, value, true)
}

// checkText requires a non-empty value of at most MaxTextBytes bytes.
func checkText(field, value string, required bool) error {
	if value == "" {
		if required {
			return fieldErr(ReasonMissingField, field, "", "is required")
		}
		return nil
	}
	if len(value) > MaxTextBytes {
		return fieldErr(ReasonInvalidField, field, value, fmt.Sprintf("is %d bytes, the limit is %d", len(value), MaxTextBytes))
	}
	if !utf8.ValidString(value) {
		return fieldErr(ReasonInvalidField, field, value, "must be valid UTF-8")
	}
	return nil
}

// ParseTime parses an RFC 3339 timestamp such as 2019-10-01T00:00:00Z.
func ParseTime(field, value string) (time.Time, error) {
	if value == "" {
		return time.Time{}, fieldErr(ReasonMissingField, field, "", "is required")
	}
	t, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		return time.Time{}, fieldErr(ReasonInvalidField, field, value, "must be an RFC 3339 timestamp such as 2019-10-01T00:00:00Z")
	}
	return t, nil
}

// firstError returns the first non-nil error.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ValidateClient checks a client record.
func (v *Validator) ValidateClient(c *Client) error {
	_, timeErr := ParseTime("clientCreated", c.ClientCreated)
	return firstError(
		checkID("tenantId", c.TenantID, true),
		checkID("clientId", c.ClientID, true),
		timeErr,
		checkText("clientUserAgent", c.ClientUserAgent, true),
		v.checkRegion(c.DataResidency),
		checkText("country", c.Country, true),
		checkID("captureId", c.CaptureID, false),
	)
}

// ValidateSession checks a session record.
func (v *Validator) ValidateSession(s *Session) error {
	_, timeErr := ParseTime("sessionCreated", s.SessionCreated)
	return firstError(
		checkID("tenantId", s.TenantID, true),
		checkID("sessionId", s.SessionID, true),
		timeErr,
		checkText("environment", s.Environment, true),
		v.checkRegion(s.DataResidency),
		checkText("country", s.Country, true),
		checkID("spaceId", s.SpaceID, true),
		checkID("appId", s.AppID, true),
		checkText("appVersion", s.AppVersion, true),
		checkID("installationId", s.InstallationID, true),
		checkText("installationVersion", s.InstallationVersion, true),
		checkID("deviceId", s.DeviceID, true),
		checkID("clientId", s.ClientID, true),
		checkID("captureId", s.CaptureID, false),
	)
}

// ValidateEvent checks an event record, including the fields its eventType
// requires, and sets e.Time from e.EventTime.
func (v *Validator) ValidateEvent(e *Event) error {
	t, timeErr := ParseTime("eventTime", e.EventTime)
	err := firstError(
		checkID("tenantId", e.TenantID, true),
		timeErr,
		v.checkRegion(e.DataResidency),
		checkID("sessionId", e.SessionID, true),
		checkID("clientId", e.ClientID, true),
		checkEventType(e.EventType),
		checkID("captureId", e.CaptureID, false),
		checkID("productId", e.ProductID, false),
		checkID("categoryId", e.CategoryID, false),
		checkText("ip", e.IP, false),
		checkOptionalText("str1", e.Str1),
		checkOptionalText("str2", e.Str2),
		checkOptionalText("str3", e.Str3),
		checkOptionalText("str4", e.Str4),
		checkOptionalText("str5", e.Str5),
	)
	if err != nil {
		return err
	}
	e.Time = t
	return checkEventFields(e)
}

func checkOptionalText(field string, p *string) error {
	if p == nil {
		return nil
	}
	return checkText(field, *p, false)
}

func checkEventType(t string) error {
	if t == "" {
		return fieldErr(ReasonMissingField, "eventType", "", "is required")
	}
	if len(t) > MaxEventTypeBytes {
		return fieldErr(ReasonInvalidField, "eventType", t, fmt.Sprintf("is %d bytes, the limit is %d", len(t), MaxEventTypeBytes))
	}
	for _, r := range t {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fieldErr(ReasonInvalidField, "eventType", t, "must contain only letters, digits, '_' and '-'")
		}
	}
	return nil
}

// builtinTypes are the event types whose semantics are fixed, so they cannot
// also be stateful keys.
var builtinTypes = []string{
	EventCartAdd, EventCartRemove, EventCartClear, EventPurchase, EventSearch,
	EventSearchClear, EventRating, EventContactIdentify, KeyCart, KeySearch,
}

// checkEventFields enforces the per-type rules of the reducers.
func checkEventFields(e *Event) error {
	switch e.EventType {
	case EventCartAdd, EventCartRemove:
		if e.ProductID == "" {
			return fieldErr(ReasonMissingField, "productId", "", "is required for "+e.EventType)
		}
		if e.Int1 != nil && (*e.Int1 < MinQuantity || *e.Int1 > MaxQuantity) {
			return fieldErr(ReasonInvalidField, "int1", fmt.Sprint(*e.Int1), fmt.Sprintf("quantity must be a whole number from %d to %d", MinQuantity, MaxQuantity))
		}
	case EventSearch:
		if e.Str1 == nil || *e.Str1 == "" {
			return fieldErr(ReasonMissingField, "str1", "", "search query is required for SEARCH")
		}
		if len(*e.Str1) > MaxSearchBytes {
			return fieldErr(ReasonInvalidField, "str1", *e.Str1, fmt.Sprintf("search query is %d bytes, the limit is %d", len(*e.Str1), MaxSearchBytes))
		}
	case EventRating:
		if e.Int1 == nil {
			return fieldErr(ReasonMissingField, "int1", "", "rating is required for RATING")
		}
		if *e.Int1 < MinRating || *e.Int1 > MaxRating {
			return fieldErr(ReasonInvalidField, "int1", fmt.Sprint(*e.Int1), fmt.Sprintf("rating must be %d to %d", MinRating, MaxRating))
		}
	case EventContactIdentify:
		// The contact is hashed after trimming white space, so a blank
		// value would make unrelated sessions one contact.
		if e.Str1 == nil || strings.TrimSpace(*e.Str1) == "" {
			return fieldErr(ReasonMissingField, "str1", "", "contact type is required for CONTACT_IDENTIFY")
		}
		if e.Str2 == nil || strings.TrimSpace(*e.Str2) == "" {
			return fieldErr(ReasonMissingField, "str2", "", "contact value is required for CONTACT_IDENTIFY")
		}
	}

	if !e.Stateful {
		return nil
	}
	if slices.Contains(builtinTypes, e.EventType) {
		return fieldErr(ReasonInvalidField, "stateful", e.EventType, "a built-in event type cannot be stateful")
	}
	if e.Str1 == nil && e.Int1 == nil {
		return fieldErr(ReasonMissingField, "str1", "", "a stateful event needs a value in str1 or int1")
	}
	if e.Str1 != nil && len(*e.Str1) > MaxStatefulValueBytes {
		return fieldErr(ReasonInvalidField, "str1", *e.Str1, fmt.Sprintf("a stateful value is %d bytes, the limit is %d", len(*e.Str1), MaxStatefulValueBytes))
	}
	if e.Public != nil && *e.Public <= 0 {
		return fieldErr(ReasonInvalidField, "public", fmt.Sprint(*e.Public), "expiry must be a positive number of milliseconds")
	}
	return nil
}
