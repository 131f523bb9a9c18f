package projection

import (
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"time"

	"github.com/gridsession/gridsession/schemas"
)

// Space is the persisted state of one space: the latest contribution of
// each session in it. Aggregates are computed from the rows when they are
// read, so a row that expires or is replaced never leaves a stale sum
// behind. A Space must not be used by two goroutines at once.
type Space struct {
	Tenant string `json:"tenant"`
	ID     string `json:"id"`
	// Version grows by one on every change of the visible space state.
	Version uint64 `json:"version,omitempty"`
	// Rows maps a sessionId to its part of the space. A withdrawn or fully
	// expired session keeps an empty row, so that its version still rejects
	// older contributions.
	// TODO: prune empty rows once no older contribution can still arrive;
	// until then a busy space's value grows with every session it saw.
	Rows map[string]*Row `json:"rows,omitempty"`
	// TimerAt is the expiry instant the caller has registered a timer for;
	// 0 means none.
	TimerAt int64 `json:"timerAt,omitempty"`
}

// Row is one session's part of a space.
type Row struct {
	Version     uint64            `json:"version"`
	Contact     string            `json:"contact,omitempty"`
	Cart        map[string]int64  `json:"cart,omitempty"`
	CartUpdated int64             `json:"cartUpdated,omitempty"`
	CartExpiry  int64             `json:"cartExpiry,omitempty"`
	Numbers     map[string]Number `json:"numbers,omitempty"`
}

func (r *Row) empty() bool { return len(r.Cart) == 0 && len(r.Numbers) == 0 }

// ApplyContribution replaces the session's row of sp with c, dropping the
// parts that have already expired at now and the products whose quantity is
// not above zero, which Contribute never sends. A contribution whose version
// is not above the row's changes nothing. It reports whether the visible
// state changed; if so, sp.Version has grown.
//
// The error wraps ErrWrongSession for a contribution of another tenant or
// space, and sp is then unchanged.
func ApplyContribution(sp *Space, c Contribution, now int64) (bool, error) {
	claimed := sp.Tenant != "" || sp.ID != ""
	if claimed && (sp.Tenant != c.Tenant || sp.ID != c.Space) {
		return false, fmt.Errorf("%w: contribution of tenant %q space %q, space of tenant %q id %q",
			ErrWrongSession, c.Tenant, c.Space, sp.Tenant, sp.ID)
	}
	sp.Tenant, sp.ID = c.Tenant, c.Space

	old := sp.Rows[c.Session]
	if old != nil && c.Version <= old.Version {
		return false, nil
	}

	row := &Row{Version: c.Version}
	if !c.Removed {
		row.Contact = c.Contact
		if c.CartExpiry > now {
			row.Cart = positiveQuantities(c.Cart)
		}
		if len(row.Cart) > 0 {
			row.CartUpdated, row.CartExpiry = c.CartUpdated, c.CartExpiry
		}
		for key, n := range c.Numbers {
			if n.Expiry > now {
				if row.Numbers == nil {
					row.Numbers = map[string]Number{}
				}
				row.Numbers[key] = n
			}
		}
	}

	changed := !sameParts(old, row)
	if sp.Rows == nil {
		sp.Rows = map[string]*Row{}
	}
	sp.Rows[c.Session] = row
	if changed {
		sp.Version++
	}
	return changed, nil
}

// positiveQuantities returns a copy of cart without the products whose
// quantity is not above zero, or nil when none is left.
func positiveQuantities(cart map[string]int64) map[string]int64 {
	var positive map[string]int64
	for product, q := range cart {
		if q <= 0 {
			continue
		}
		if positive == nil {
			positive = make(map[string]int64, len(cart))
		}
		positive[product] = q
	}
	return positive
}

// sameParts reports whether two rows contribute the same visible values.
// The cart times count because RowsView shows them.
func sameParts(a, b *Row) bool {
	if a == nil || a.empty() {
		return b == nil || b.empty()
	}
	if b == nil {
		return false
	}
	if !maps.Equal(a.Cart, b.Cart) || !maps.Equal(a.Numbers, b.Numbers) {
		return false
	}
	if a.CartUpdated != b.CartUpdated || a.CartExpiry != b.CartExpiry {
		return false
	}
	return len(a.Cart) == 0 || a.Contact == b.Contact
}

// ExpireSpace removes every part of sp that has expired at now and reports
// whether the visible state changed.
func ExpireSpace(sp *Space, now int64) bool {
	changed := false
	for _, row := range sp.Rows {
		if len(row.Cart) > 0 && row.CartExpiry <= now {
			row.Cart, row.CartUpdated, row.CartExpiry = nil, 0, 0
			changed = true
		}
		for key, n := range row.Numbers {
			if n.Expiry <= now {
				delete(row.Numbers, key)
				changed = true
			}
		}
	}
	if changed {
		sp.Version++
	}
	return changed
}

// NextSpaceExpiry returns the earliest expiry of any part of sp, or 0 when
// sp holds none. Like NextExpiry, it returns an expiry at or before the Unix
// epoch as 1.
func NextSpaceExpiry(sp *Space) int64 {
	next := int64(0)
	earliest := func(at int64) {
		at = max(at, 1)
		if next == 0 || at < next {
			next = at
		}
	}
	for _, row := range sp.Rows {
		if len(row.Cart) > 0 {
			earliest(row.CartExpiry)
		}
		for _, n := range row.Numbers {
			earliest(n.Expiry)
		}
	}
	return next
}

// View computes the space state at now from the live parts of the rows:
// per product the total quantity and the number of distinct contacts
// holding it, and per numeric key (RATING first of all) the min, max, mean
// and count of the live values. A total above math.MaxInt64 is reported as
// math.MaxInt64.
func (sp *Space) View(now int64) schemas.SpaceState {
	state := schemas.SpaceState{Cart: map[string]schemas.ProductTotal{}, Numbers: map[string]schemas.NumberAggregate{}}
	if sp == nil {
		return state
	}

	holders := map[string]map[string]bool{}
	numbers := map[string][]Number{}
	for _, row := range sp.Rows {
		if row.CartExpiry > now {
			for product, q := range row.Cart {
				total := state.Cart[product]
				total.Quantity = addSaturating(total.Quantity, q)
				state.Cart[product] = total
				if holders[product] == nil {
					holders[product] = map[string]bool{}
				}
				holders[product][row.Contact] = true
			}
		}
		for key, n := range row.Numbers {
			if n.Expiry > now {
				numbers[key] = append(numbers[key], n)
			}
		}
	}
	for product, total := range state.Cart {
		total.Contacts = int64(len(holders[product]))
		state.Cart[product] = total
	}
	for key, values := range numbers {
		state.Numbers[key] = aggregate(values)
	}
	return state
}

// aggregate folds live values, at least one, into min, max, mean and count.
// Created is the earliest and Updated the latest time a value was given;
// Expiry is when the last of them expires.
func aggregate(values []Number) schemas.NumberAggregate {
	a := schemas.NumberAggregate{Type: "number"}
	var created, updated, expiry int64
	for i, n := range values {
		if i == 0 {
			a.Value.Min, a.Value.Max = n.Value, n.Value
			created, updated, expiry = n.Updated, n.Updated, n.Expiry
			continue
		}
		a.Value.Min = min(a.Value.Min, n.Value)
		a.Value.Max = max(a.Value.Max, n.Value)
		created = min(created, n.Updated)
		updated = max(updated, n.Updated)
		expiry = max(expiry, n.Expiry)
	}
	a.Value.Length = int64(len(values))
	a.Value.Mean = mean(values)
	a.Expiry = expiry
	a.Created = formatMillis(created)
	a.Updated = formatMillis(updated)
	return a
}

// mean returns the mean of the values, at least one. Their sum is kept in
// 128 bits, so it is exact and the same whatever order map iteration gives
// the rows in. A float64 sum would round large values differently in each
// order.
func mean(values []Number) float64 {
	var hi, lo uint64
	for _, v := range values {
		var carry uint64
		lo, carry = bits.Add64(lo, uint64(v.Value), 0)
		hi += uint64(v.Value>>63) + carry
	}
	n := float64(len(values))
	if hi == uint64(int64(lo)>>63) {
		return float64(int64(lo)) / n
	}
	return (float64(int64(hi))*(1<<64) + float64(lo)) / n
}

// RowsView returns the per-session values behind the space state at now.
func (sp *Space) RowsView(now int64) schemas.SpaceRows {
	rows := schemas.SpaceRows{Rating: map[string]schemas.RatingRow{}, Cart: map[string]schemas.CartRow{}}
	if sp == nil {
		return rows
	}
	for session, row := range sp.Rows {
		if row.CartExpiry > now && len(row.Cart) > 0 {
			rows.Cart[session] = schemas.CartRow{
				Expiry:  formatMillis(row.CartExpiry),
				Updated: formatMillis(row.CartUpdated),
				Value:   maps.Clone(row.Cart),
			}
		}
		if n, ok := row.Numbers[schemas.KeyRating]; ok && n.Expiry > now {
			rows.Rating[session] = schemas.RatingRow{Value: n.Value, Expiry: n.Expiry, Updated: formatMillis(n.Updated)}
		}
	}
	return rows
}

// formatMillis formats milliseconds since the Unix epoch as RFC 3339 in UTC.
func formatMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}

// MarshalSpace encodes sp for the state store like Marshal.
func MarshalSpace(sp *Space) ([]byte, error) {
	if sp == nil {
		return nil, errors.New("projection: cannot marshal a nil space")
	}
	return marshalWithFormat(formatSpaceV1, sp)
}

// UnmarshalSpace decodes bytes written by MarshalSpace. It returns an error
// wrapping ErrCorrupt for an unknown format byte, invalid JSON, a null row
// or a cart quantity that is not above zero.
func UnmarshalSpace(b []byte) (*Space, error) {
	var sp Space
	if err := unmarshalWithFormat(formatSpaceV1, b, &sp); err != nil {
		return nil, err
	}
	for session, row := range sp.Rows {
		if row == nil {
			return nil, fmt.Errorf("%w: row of session %q is null", ErrCorrupt, session)
		}
		for product, q := range row.Cart {
			if q <= 0 {
				return nil, fmt.Errorf("%w: session %q has product %q with quantity %d", ErrCorrupt, session, product, q)
			}
		}
	}
	return &sp, nil
}
