package schemas

// Requests and answers of the query service that workers run over NATS
// request-reply. The Session API client sends these; the answers to gets are
// the Session API shapes themselves.

// SessionRequest requests one session's state or space.
type SessionRequest struct {
	TenantID      string `json:"tenantId"`
	SessionID     string `json:"sessionId"`
	DataResidency string `json:"dataResidency,omitempty"`
}

// SpaceRequest requests one space's state or rows, with the access key
// that guards space reads.
type SpaceRequest struct {
	TenantID      string `json:"tenantId"`
	SpaceID       string `json:"spaceId"`
	DataResidency string `json:"dataResidency,omitempty"`
	// Username is the browser id and Password the access key.
	Username string `json:"username"`
	Password string `json:"password"`
}

// SessionSpaceAnswer names the space a session belongs to. SpaceID is
// empty while no session record has been applied.
type SessionSpaceAnswer struct {
	SpaceID string `json:"spaceId"`
}

// Validate checks the ids of a session request.
func (r SessionRequest) Validate() error {
	return firstError(checkID("tenantId", r.TenantID, true), checkID("sessionId", r.SessionID, true))
}

// Validate checks the ids and the presence of the credentials of a space
// request.
func (r SpaceRequest) Validate() error {
	return firstError(
		checkID("tenantId", r.TenantID, true),
		checkID("spaceId", r.SpaceID, true),
		checkID("username", r.Username, true),
		checkText("password", r.Password, true),
	)
}
