package projection

import (
	"fmt"
	"math"

	"github.com/gridsession/gridsession/schemas"
)

// reservedKeys are state keys with their own reducers, which a stateful
// event cannot overwrite.
var reservedKeys = map[string]bool{
	schemas.KeyCart:   true,
	schemas.KeySearch: true,
	schemas.KeyRating: true,
}

// setStateful sets the key e.EventType to str1, or to int1 when str1 is
// absent. The value expires public milliseconds after the event time, or
// DefaultStatefulExpiry after it when public is absent.
//
// A new key into a full map first drops the keys that have expired at the
// event time. When none has, the event fails with ReasonLimitExceeded.
func (s *Session) setStateful(e *schemas.Event, at int64, maxKeys int) (Changes, error) {
	key := e.EventType
	if reservedKeys[key] {
		return Changes{}, fieldError(schemas.ReasonInvalidField, "stateful", key, "a built-in state key cannot be stateful")
	}
	next, err := statefulValue(e, at)
	if err != nil {
		return Changes{}, err
	}

	current, exists := s.Stateful[key]
	if exists && current.equal(next) {
		return Changes{}, nil
	}
	if !exists && len(s.Stateful) >= maxKeys {
		if s.liveStatefulKeys(at) >= maxKeys {
			return Changes{}, fieldError(schemas.ReasonLimitExceeded, "eventType", key,
				fmt.Sprintf("the session already has the maximum of %d stateful keys", maxKeys))
		}
		s.dropExpiredStateful(at)
	}

	if s.Stateful == nil {
		s.Stateful = make(map[string]Value)
	}
	s.Stateful[key] = next
	return Changes{Contribution: true}, nil
}

// statefulValue builds the value that e sets at event time at.
func statefulValue(e *schemas.Event, at int64) (Value, error) {
	v := Value{Updated: at}
	switch {
	case e.Str1 != nil:
		str := *e.Str1
		v.Str = &str
	case e.Int1 != nil:
		n := *e.Int1
		v.Int = &n
	default:
		return Value{}, fieldError(schemas.ReasonMissingField, "str1", "", "a stateful event needs a value in str1 or int1")
	}

	ttl := DefaultStatefulExpiry.Milliseconds()
	if e.Public != nil {
		if *e.Public <= 0 {
			return Value{}, fieldError(schemas.ReasonInvalidField, "public", fmt.Sprint(*e.Public),
				"expiry must be a positive number of milliseconds")
		}
		ttl = *e.Public
	}
	v.Expiry = addSaturating(at, ttl)
	return v, nil
}

// addSaturating returns a+b for b > 0, or math.MaxInt64 when the sum
// overflows.
func addSaturating(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// liveStatefulKeys counts the keys that have not expired at time at.
func (s *Session) liveStatefulKeys(at int64) int {
	n := 0
	for _, v := range s.Stateful {
		if v.Expiry > at {
			n++
		}
	}
	return n
}

// dropExpiredStateful deletes the keys that have expired at time at.
func (s *Session) dropExpiredStateful(at int64) {
	for k, v := range s.Stateful {
		if v.Expiry <= at {
			delete(s.Stateful, k)
		}
	}
}
