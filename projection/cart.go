package projection

import (
	"fmt"
	"math"

	"github.com/gridsession/gridsession/schemas"
)

// quantity returns e's int1, or def when it is absent, and checks that it is
// a cart quantity.
func quantity(e *schemas.Event, def int64) (int64, error) {
	if e.Int1 == nil {
		return def, nil
	}
	q := *e.Int1
	if q < schemas.MinQuantity || q > schemas.MaxQuantity {
		return 0, fieldError(schemas.ReasonInvalidField, "int1", fmt.Sprint(q),
			fmt.Sprintf("quantity must be a whole number from %d to %d", schemas.MinQuantity, schemas.MaxQuantity))
	}
	return q, nil
}

func requireProduct(e *schemas.Event) error {
	if e.ProductID == "" {
		return fieldError(schemas.ReasonMissingField, "productId", "", "is required for "+e.EventType)
	}
	return nil
}

func (s *Session) addToCart(e *schemas.Event, at int64, maxProducts int) (Changes, error) {
	if err := requireProduct(e); err != nil {
		return Changes{}, err
	}
	q, err := quantity(e, 1)
	if err != nil {
		return Changes{}, err
	}

	current, inCart := s.Cart[e.ProductID]
	if !inCart && len(s.Cart) >= maxProducts {
		return Changes{}, fieldError(schemas.ReasonLimitExceeded, "productId", e.ProductID,
			fmt.Sprintf("the cart already contains the maximum of %d products", maxProducts))
	}
	if current > math.MaxInt64-q {
		return Changes{}, fieldError(schemas.ReasonLimitExceeded, "int1", fmt.Sprint(q),
			fmt.Sprintf("quantity of product %q would overflow", e.ProductID))
	}

	if s.Cart == nil {
		s.Cart = make(map[string]int64)
	}
	s.Cart[e.ProductID] = current + q
	s.CartUpdated = max(s.CartUpdated, at)
	return Changes{State: true, Contribution: true}, nil
}

// removeFromCart subtracts int1, or the whole quantity when int1 is absent.
// A product that is not in the cart changes nothing.
func (s *Session) removeFromCart(e *schemas.Event, at int64) (Changes, error) {
	if err := requireProduct(e); err != nil {
		return Changes{}, err
	}
	q, err := quantity(e, math.MaxInt64)
	if err != nil {
		return Changes{}, err
	}

	current, inCart := s.Cart[e.ProductID]
	if !inCart {
		return Changes{}, nil
	}
	if q >= current {
		delete(s.Cart, e.ProductID)
	} else {
		s.Cart[e.ProductID] = current - q
	}
	s.CartUpdated = max(s.CartUpdated, at)
	return Changes{State: true, Contribution: true}, nil
}

func (s *Session) clearCart(at int64) Changes {
	if len(s.Cart) == 0 {
		return Changes{}
	}
	s.Cart = nil
	s.CartUpdated = max(s.CartUpdated, at)
	return Changes{State: true, Contribution: true}
}
