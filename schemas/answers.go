package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// SessionState is the visible state of one session: its cart
// (productId -> quantity) and its recent searches, oldest first. It is the
// message that session state subscriptions receive.
type SessionState struct {
	Cart   map[string]int64 `json:"CART"`
	Search []string         `json:"SEARCH"`
}

// SessionStateAnswer is the response to a session state get.
type SessionStateAnswer struct {
	Session SessionState `json:"session"`
}

// EmptySessionState returns a state with an empty cart and no searches, which
// is the state of a session that has none.
func EmptySessionState() SessionState {
	return SessionState{Cart: map[string]int64{}, Search: []string{}}
}

// ProductTotal is one product of a space cart: the quantity summed over the
// live carts of the space and the number of distinct contacts holding it.
type ProductTotal struct {
	Quantity int64 `json:"quantity"`
	Contacts int64 `json:"contacts"`
}

// NumberAggregate summarises the live values of one numeric key, such as
// RATING, over the sessions of a space. Expiry is in milliseconds since the
// Unix epoch, when the last live value expires; Created and Updated are RFC
// 3339 times of the earliest and latest value.
type NumberAggregate struct {
	Type  string `json:"type"`
	Value struct {
		Min    int64   `json:"min"`
		Max    int64   `json:"max"`
		Mean   float64 `json:"mean"`
		Length int64   `json:"length"`
	} `json:"value"`
	Expiry  int64  `json:"expiry"`
	Created string `json:"created"`
	Updated string `json:"updated"`
}

// SpaceState is the state a space shares: the CART totals and one
// aggregate per numeric key. In JSON every aggregate is a member of its own
// next to "CART", as in {"RATING": {...}, "CART": {...}}.
type SpaceState struct {
	Cart    map[string]ProductTotal
	Numbers map[string]NumberAggregate
}

// MarshalJSON writes the aggregates as members next to CART.
func (s SpaceState) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(s.Numbers)+1)
	for key, agg := range s.Numbers {
		out[key] = agg
	}
	cart := s.Cart
	if cart == nil {
		cart = map[string]ProductTotal{}
	}
	out[KeyCart] = cart

	// Product ids may contain '<', '>' and '&'; escaping them would make
	// the message up to six times longer.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *SpaceState) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	s.Cart, s.Numbers = map[string]ProductTotal{}, map[string]NumberAggregate{}
	for key, value := range raw {
		if key == KeyCart {
			if err := json.Unmarshal(value, &s.Cart); err != nil {
				return fmt.Errorf("schemas: decode CART: %w", err)
			}
			continue
		}
		var agg NumberAggregate
		if err := json.Unmarshal(value, &agg); err != nil {
			return fmt.Errorf("schemas: decode %s: %w", key, err)
		}
		s.Numbers[key] = agg
	}
	return nil
}

// RatingRow is one session's live rating in a space.
type RatingRow struct {
	Value int64 `json:"value"`
	// Expiry is in milliseconds since the Unix epoch.
	Expiry  int64  `json:"expiry"`
	Updated string `json:"updated"`
}

// CartRow is one session's live cart in a space.
type CartRow struct {
	// Expiry and Updated are RFC 3339 times.
	Expiry  string           `json:"expiry"`
	Updated string           `json:"updated"`
	Value   map[string]int64 `json:"value"`
}

// SpaceRows is the response to a space rows get: the per-session values
// behind the space state, keyed by sessionId.
type SpaceRows struct {
	Rating map[string]RatingRow `json:"RATING"`
	Cart   map[string]CartRow   `json:"CART"`
}

// MarshalJSON writes a nil RATING or CART as an empty object, so that an
// answer built from the zero value has the same shape as any other.
func (r SpaceRows) MarshalJSON() ([]byte, error) {
	type plain SpaceRows
	if r.Rating == nil {
		r.Rating = map[string]RatingRow{}
	}
	if r.Cart == nil {
		r.Cart = map[string]CartRow{}
	}
	return json.Marshal(plain(r))
}
