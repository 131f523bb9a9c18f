package projection

import (
	"maps"

	"github.com/gridsession/gridsession/schemas"
)

// Session is the persisted state of one session. Times are milliseconds
// since the Unix epoch. The reducers change a Session in place, so one
// Session must not be used by two goroutines at once.
type Session struct {
	Tenant string `json:"tenant,omitempty"`
	ID     string `json:"id,omitempty"`

	// Known reports whether a session record has been applied. SpaceID,
	// ClientID, Created and RecordCaptureID come from the chosen session
	// record, the smallest by (Created, SpaceID, ClientID, RecordCaptureID).
	Known           bool   `json:"known,omitempty"`
	SpaceID         string `json:"space,omitempty"`
	ClientID        string `json:"client,omitempty"`
	Created         int64  `json:"created,omitempty"`
	RecordCaptureID string `json:"recordCapture,omitempty"`

	// Cart maps productId to quantity. Quantities are always above zero.
	Cart map[string]int64 `json:"cart,omitempty"`
	// CartUpdated is the latest event time of a cart change.
	CartUpdated int64 `json:"cartUpdated,omitempty"`
	// Search lists the latest queries, newest last.
	Search []string `json:"search,omitempty"`
	Rating *Rating  `json:"rating,omitempty"`
	// Contact is HashContact of the latest CONTACT_IDENTIFY, or "" when the
	// session itself is the contact.
	Contact        string `json:"contact,omitempty"`
	ContactUpdated int64  `json:"contactUpdated,omitempty"`
	// Stateful maps the eventType of a stateful event to its value.
	Stateful map[string]Value `json:"stateful,omitempty"`

	// LastActivity is the latest event time applied.
	LastActivity int64 `json:"lastActivity,omitempty"`
	// Version grows by one on every change of Cart or Search, the state
	// that subscribers see.
	Version uint64 `json:"version,omitempty"`
	// Applied counts the records applied to the session, duplicates left
	// out, and ExpirySeq the expiries that changed its space part since the
	// last record. Together they version the session's contributions, so
	// the version depends on which records were applied and never on how
	// they were batched.
	Applied   uint64 `json:"applied,omitempty"`
	ExpirySeq uint64 `json:"expirySeq,omitempty"`
	// TimerAt is the expiry instant the caller has registered a timer for,
	// so it can move the timer when NextExpiry changes; 0 means none.
	TimerAt int64 `json:"timerAt,omitempty"`
	// Seen lists the captureIds of the latest applied events, oldest first,
	// at most Config.CaptureWindow of them.
	Seen []string `json:"seen,omitempty"`
}

// Rating is the session's RATING value and the event time that set it.
type Rating struct {
	Value   int64 `json:"value"`
	Updated int64 `json:"updated"`
}

// Value is the value of one stateful key. Exactly one of Str and Int is set.
// Updated is the event time that set it and Expiry is Updated plus the
// event's public milliseconds.
type Value struct {
	Str     *string `json:"str,omitempty"`
	Int     *int64  `json:"int,omitempty"`
	Updated int64   `json:"updated"`
	Expiry  int64   `json:"expiry"`
}

// equal reports whether v and w hold the same value and times.
func (v Value) equal(w Value) bool {
	return v.Updated == w.Updated && v.Expiry == w.Expiry &&
		equalPointers(v.Str, w.Str) && equalPointers(v.Int, w.Int)
}

func equalPointers[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Changes reports what a reducer changed.
type Changes struct {
	// Duplicate reports that the record was applied before, so nothing
	// changed.
	Duplicate bool
	// State reports a change of Cart or Search. The caller publishes View
	// with the new Version.
	State bool
	// Contribution reports a change of the cart, rating, contact or a
	// stateful key, the part of the session that the space stage
	// aggregates. It is set whether or not the session record is known, and
	// before it is known there is no space to send the contribution to.
	Contribution bool
	// SpaceKnown reports that this record was the first session record, so
	// the session's space is now known and its contribution can be sent.
	SpaceKnown bool
	// PreviousSpaceID is the space the session belonged to before a session
	// record that sorts earlier moved it to another space, or "". The
	// caller withdraws the session's contribution from that space and sends
	// it to the new one.
	PreviousSpaceID string
}

// countApplied records that one more record was applied.
func (s *Session) countApplied() {
	s.Applied++
	s.ExpirySeq = 0
}

// View returns the visible state of the session, a copy that the caller
// owns. Its Cart and Search are never nil. A nil Session has an empty view.
func (s *Session) View() schemas.SessionState {
	if s == nil {
		return schemas.EmptySessionState()
	}
	v := schemas.SessionState{
		Cart:   make(map[string]int64, len(s.Cart)),
		Search: make([]string, len(s.Search)),
	}
	maps.Copy(v.Cart, s.Cart)
	copy(v.Search, s.Search)
	return v
}
