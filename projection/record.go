package projection

import (
	"cmp"

	"github.com/gridsession/gridsession/schemas"
)

// ApplySession folds the session record r into s. It sets Tenant and ID and
// never changes Cart or Search, so Changes.State is always false.
//
// Producers may send a session record twice, with different values, and
// before or after the session's events. Of all records applied, s keeps the
// smallest by (sessionCreated in milliseconds, spaceId, clientId, captureId),
// so the result does not depend on the order in which they arrive. A record
// equal to the kept one in those four fields returns Duplicate.
//
// SpaceKnown is set when r is the first session record of s.
// PreviousSpaceID is set when r replaces the kept record with one of another
// space. The error is a *schemas.FieldError for an invalid sessionCreated or
// a missing spaceId, or ErrWrongSession. On error s is unchanged. No field of
// cfg affects session records at present.
func ApplySession(s *Session, r *schemas.Session, cfg Config) (Changes, error) {
	if err := checkOwner(s.Tenant, s.ID, r.TenantID, r.SessionID); err != nil {
		return Changes{}, err
	}
	created, err := schemas.ParseTime("sessionCreated", r.SessionCreated)
	if err != nil {
		return Changes{}, err
	}
	if r.SpaceID == "" {
		return Changes{}, fieldError(schemas.ReasonMissingField, "spaceId", "", "is required")
	}

	next := recordKey{created: created.UnixMilli(), spaceID: r.SpaceID, clientID: r.ClientID, captureID: r.CaptureID}
	s.Tenant, s.ID = r.TenantID, r.SessionID
	if !s.Known {
		s.keepRecord(next)
		s.countApplied()
		return Changes{SpaceKnown: true}, nil
	}

	switch next.compare(s.recordKey()) {
	case 0:
		return Changes{Duplicate: true}, nil
	case 1:
		// Counting the ignored record keeps Applied, and so the stored
		// bytes, the same whatever order the records came in.
		s.countApplied()
		return Changes{}, nil
	}
	s.countApplied()
	previous := s.SpaceID
	s.keepRecord(next)
	if previous == s.SpaceID {
		return Changes{}, nil
	}
	return Changes{PreviousSpaceID: previous}, nil
}

// recordKey holds the fields of a session record that decide which of two
// records a session keeps.
type recordKey struct {
	created   int64
	spaceID   string
	clientID  string
	captureID string
}

// compare orders keys by created, then spaceID, clientID and captureID. It
// returns -1, 0 or +1.
func (k recordKey) compare(o recordKey) int {
	if c := cmp.Compare(k.created, o.created); c != 0 {
		return c
	}
	if c := cmp.Compare(k.spaceID, o.spaceID); c != 0 {
		return c
	}
	if c := cmp.Compare(k.clientID, o.clientID); c != 0 {
		return c
	}
	return cmp.Compare(k.captureID, o.captureID)
}

func (s *Session) recordKey() recordKey {
	return recordKey{created: s.Created, spaceID: s.SpaceID, clientID: s.ClientID, captureID: s.RecordCaptureID}
}

func (s *Session) keepRecord(k recordKey) {
	s.Known = true
	s.Created = k.created
	s.SpaceID = k.spaceID
	s.ClientID = k.clientID
	s.RecordCaptureID = k.captureID
}
