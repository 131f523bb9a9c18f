package projection

import (
	"maps"

	"github.com/gridsession/gridsession/schemas"
)

// Expiry instants are milliseconds since the Unix epoch; a value is live
// while its expiry is after now and expired from its expiry on. An event
// time before 1970 can make an instant zero or negative, so the functions
// below test whether a value is present rather than whether its expiry is
// above 0.

// CartExpiry returns when the session's cart expires, or 0 when the cart is
// empty.
func (s *Session) CartExpiry(cfg Config) int64 {
	if len(s.Cart) == 0 {
		return 0
	}
	return addSaturating(s.CartUpdated, cfg.WithDefaults().CartTTL.Milliseconds())
}

// RatingExpiry returns when the session's rating expires, or 0 when it has
// none.
func (s *Session) RatingExpiry(cfg Config) int64 {
	if s.Rating == nil {
		return 0
	}
	return addSaturating(s.Rating.Updated, cfg.WithDefaults().RatingTTL.Milliseconds())
}

// NextExpiry returns the earliest expiry of any value the session holds, or
// 0 when it holds none. An expiry at or before the Unix epoch is returned as
// 1, which is due at once and cannot be mistaken for none.
func NextExpiry(s *Session, cfg Config) int64 {
	next := int64(0)
	earliest := func(at int64) {
		at = max(at, 1)
		if next == 0 || at < next {
			next = at
		}
	}
	if len(s.Cart) > 0 {
		earliest(s.CartExpiry(cfg))
	}
	if s.Rating != nil {
		earliest(s.RatingExpiry(cfg))
	}
	for _, v := range s.Stateful {
		earliest(v.Expiry)
	}
	return next
}

// Expire removes every value of s that has expired at now. Removing the
// cart changes the visible state and its Version, like any other change.
func Expire(s *Session, now int64, cfg Config) Changes {
	var c Changes
	if len(s.Cart) > 0 && s.CartExpiry(cfg) <= now {
		s.Cart = nil
		s.Version++
		c.State, c.Contribution = true, true
	}
	if s.Rating != nil && s.RatingExpiry(cfg) <= now {
		s.Rating = nil
		c.Contribution = true
	}
	before := len(s.Stateful)
	s.dropExpiredStateful(now)
	if len(s.Stateful) != before {
		c.Contribution = true
	}
	if c.Contribution {
		s.ExpirySeq++
	}
	return c
}

// ViewAt returns the visible state at now, leaving out a cart that has
// expired but not been removed yet.
func (s *Session) ViewAt(now int64, cfg Config) schemas.SessionState {
	v := s.View()
	if s != nil && len(s.Cart) > 0 && s.CartExpiry(cfg) <= now {
		clear(v.Cart)
	}
	return v
}

// Number is a numeric value with the event time that set it and its expiry.
type Number struct {
	Value   int64 `json:"value"`
	Updated int64 `json:"updated"`
	Expiry  int64 `json:"expiry"`
}

// Contribution is a session's part of its space's state: a full snapshot,
// never a delta, so applying it twice or after a newer one changes nothing.
type Contribution struct {
	Tenant  string `json:"tenantId"`
	Space   string `json:"spaceId"`
	Session string `json:"sessionId"`
	// Version grows per session with every record applied and every
	// expiry. The space stage ignores a contribution whose Version is not
	// above the last one applied for the session.
	Version uint64 `json:"version"`
	// Removed withdraws the session from the space, after its session
	// record moved it to another space.
	Removed bool `json:"removed,omitempty"`
	// Contact identifies the person: "c:" and the contact hash, or "s:" and
	// the session id when the session has no CONTACT_IDENTIFY.
	Contact     string           `json:"contact"`
	Cart        map[string]int64 `json:"cart,omitempty"`
	CartUpdated int64            `json:"cartUpdated,omitempty"`
	CartExpiry  int64            `json:"cartExpiry,omitempty"`
	// Numbers holds RATING and every stateful key with an integer value.
	Numbers map[string]Number `json:"numbers,omitempty"`
}

// ContributionVersion returns the version of the session's current
// contribution: Applied in the high bits and ExpirySeq, capped at 0xFFFF,
// in the low 16.
func (s *Session) ContributionVersion() uint64 {
	return s.Applied<<16 | min(s.ExpirySeq, 0xFFFF)
}

// Contribute returns the session's part of space, which must be the
// session's SpaceID, or its removal from space when removed is set.
func Contribute(s *Session, space string, removed bool, cfg Config) Contribution {
	c := Contribution{Tenant: s.Tenant, Space: space, Session: s.ID, Version: s.ContributionVersion(), Removed: removed}
	if removed {
		return c
	}

	c.Contact = "s:" + s.ID
	if s.Contact != "" {
		c.Contact = "c:" + s.Contact
	}
	if len(s.Cart) > 0 {
		c.Cart = maps.Clone(s.Cart)
		c.CartUpdated = s.CartUpdated
		c.CartExpiry = s.CartExpiry(cfg)
	}
	if s.Rating != nil {
		c.Numbers = map[string]Number{schemas.KeyRating: {Value: s.Rating.Value, Updated: s.Rating.Updated, Expiry: s.RatingExpiry(cfg)}}
	}
	for key, v := range s.Stateful {
		if v.Int == nil {
			continue
		}
		if c.Numbers == nil {
			c.Numbers = map[string]Number{}
		}
		c.Numbers[key] = Number{Value: *v.Int, Updated: v.Updated, Expiry: v.Expiry}
	}
	return c
}
