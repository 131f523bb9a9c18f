package schemas

// SessionState is the visible state of one session: its cart
// (productId -> quantity) and its recent searches, oldest first. It is the
// message that session state subscriptions receive.
type SessionState struct {
	Cart   map[string]int64 `json:"CART"`
	Search []string         `json:"SEARCH"`
}

// SessionStateAnswer is the answer to a session state get.
type SessionStateAnswer struct {
	Session SessionState `json:"session"`
}

// EmptySessionState returns a state with an empty cart and no searches, which
// is what a session without state answers.
func EmptySessionState() SessionState {
	return SessionState{Cart: map[string]int64{}, Search: []string{}}
}
