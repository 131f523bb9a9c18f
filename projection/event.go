package projection

import (
	"fmt"
	"slices"
	"time"

	"github.com/gridsession/gridsession/schemas"
)

// ApplyEvent folds the event e into s. recordTime is the Kafka record
// timestamp. The event time is clamped to recordTime+cfg.MaxClockSkew, so a
// device with a clock that runs ahead cannot keep state alive. A zero
// recordTime leaves the event time as it is.
//
// Every applied event moves LastActivity forward and adds its captureId to
// Seen. An event whose captureId is already in Seen returns Duplicate and
// changes nothing. On error s is unchanged. The error is a
// *schemas.FieldError for a field the reducers reject (ReasonLimitExceeded
// when a cart or stateful limit of cfg is reached), ErrWrongSession for an
// event of another session, or ErrNoContactKey.
//
// e should have passed schemas.Validator.ValidateEvent. The reducers check
// again the presence and range of the fields they use, so a hand-built event
// cannot break the invariants of s, such as quantities above zero.
func ApplyEvent(s *Session, e *schemas.Event, recordTime time.Time, cfg Config) (Changes, error) {
	cfg = cfg.WithDefaults()
	if err := checkOwner(s.Tenant, s.ID, e.TenantID, e.SessionID); err != nil {
		return Changes{}, err
	}
	if e.CaptureID != "" && slices.Contains(s.Seen, e.CaptureID) {
		return Changes{Duplicate: true}, nil
	}

	at, err := effectiveTime(e, recordTime, cfg.MaxClockSkew)
	if err != nil {
		return Changes{}, err
	}
	changes, err := s.reduce(e, at, cfg)
	if err != nil {
		return Changes{}, err
	}

	s.Tenant, s.ID = e.TenantID, e.SessionID
	s.LastActivity = max(s.LastActivity, at)
	s.remember(e.CaptureID, cfg.CaptureWindow)
	s.countApplied()
	if changes.State {
		s.Version++
	}
	return changes, nil
}

// checkOwner returns ErrWrongSession unless the state is still unclaimed or
// belongs to the record's tenant and id.
func checkOwner(stateTenant, stateID, tenant, id string) error {
	if stateTenant == "" && stateID == "" {
		return nil
	}
	if stateTenant == tenant && stateID == id {
		return nil
	}
	return fmt.Errorf("%w: record of tenant %q id %q, state of tenant %q id %q",
		ErrWrongSession, tenant, id, stateTenant, stateID)
}

// effectiveTime returns the event time in milliseconds since the Unix epoch,
// clamped to recordTime+skew unless recordTime is zero. It parses EventTime
// when the decoder has not set e.Time.
func effectiveTime(e *schemas.Event, recordTime time.Time, skew time.Duration) (int64, error) {
	t := e.Time
	if t.IsZero() {
		parsed, err := schemas.ParseTime("eventTime", e.EventTime)
		if err != nil {
			return 0, err
		}
		t = parsed
	}
	if !recordTime.IsZero() {
		if limit := recordTime.Add(skew); t.After(limit) {
			t = limit
		}
	}
	return t.UnixMilli(), nil
}

// remember appends captureID to Seen and drops the oldest ids beyond window.
// Dropping reslices from the front, so append copies the kept ids only when
// it reaches the end of the array. The dropped slots are cleared first so
// that their strings can be garbage collected.
func (s *Session) remember(captureID string, window int) {
	if captureID == "" {
		return
	}
	s.Seen = append(s.Seen, captureID)
	if over := len(s.Seen) - window; over > 0 {
		clear(s.Seen[:over])
		s.Seen = s.Seen[over:]
	}
}

// reduce applies the effect of e's type at event time at. It changes s only
// when it returns a nil error.
func (s *Session) reduce(e *schemas.Event, at int64, cfg Config) (Changes, error) {
	switch e.EventType {
	case schemas.EventCartAdd:
		return s.addToCart(e, at, cfg.MaxCartProducts)
	case schemas.EventCartRemove:
		return s.removeFromCart(e, at)
	case schemas.EventCartClear, schemas.EventPurchase:
		return s.clearCart(at), nil
	case schemas.EventSearch:
		return s.addSearch(e, cfg.MaxSearches)
	case schemas.EventSearchClear:
		return s.clearSearch(), nil
	case schemas.EventRating:
		return s.rate(e, at)
	case schemas.EventContactIdentify:
		return s.identify(e, at, cfg.ContactKey)
	}
	if e.Stateful {
		return s.setStateful(e, at, cfg.MaxStatefulKeys)
	}
	return Changes{}, nil
}

func (s *Session) rate(e *schemas.Event, at int64) (Changes, error) {
	if e.Int1 == nil {
		return Changes{}, fieldError(schemas.ReasonMissingField, "int1", "", "rating is required for RATING")
	}
	v := *e.Int1
	if v < schemas.MinRating || v > schemas.MaxRating {
		return Changes{}, fieldError(schemas.ReasonInvalidField, "int1", fmt.Sprint(v),
			fmt.Sprintf("rating must be %d to %d", schemas.MinRating, schemas.MaxRating))
	}

	next := Rating{Value: v, Updated: at}
	if s.Rating != nil && *s.Rating == next {
		return Changes{}, nil
	}
	s.Rating = &next
	return Changes{Contribution: true}, nil
}
