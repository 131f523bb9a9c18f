package projection

import (
	"fmt"
	"slices"

	"github.com/gridsession/gridsession/schemas"
)

// addSearch appends str1 to Search and keeps the latest maxSearches. When the
// list is full and every query in it equals str1, nothing changes.
func (s *Session) addSearch(e *schemas.Event, maxSearches int) (Changes, error) {
	if e.Str1 == nil || *e.Str1 == "" {
		return Changes{}, fieldError(schemas.ReasonMissingField, "str1", "", "search query is required for SEARCH")
	}
	query := *e.Str1
	if len(query) > schemas.MaxSearchBytes {
		return Changes{}, fieldError(schemas.ReasonInvalidField, "str1", query,
			fmt.Sprintf("search query is %d bytes, the limit is %d", len(query), schemas.MaxSearchBytes))
	}

	// append writes past len(s.Search) only, so s.Search still holds the
	// old list while next is compared with it.
	next := append(s.Search, query)
	if over := len(next) - maxSearches; over > 0 {
		if slices.Equal(s.Search, next[over:]) {
			return Changes{}, nil
		}
		n := copy(next, next[over:])
		clear(next[n:])
		next = next[:n]
	}
	s.Search = next
	return Changes{State: true}, nil
}

func (s *Session) clearSearch() Changes {
	if len(s.Search) == 0 {
		return Changes{}
	}
	s.Search = nil
	return Changes{State: true}
}
