package projection

import (
	"github.com/gridsession/gridsession/schemas"
)

// ClientState is the stored information about one device client: the
// fields of its latest client record except location, which is personal
// data. Created is milliseconds since the Unix epoch.
type ClientState struct {
	Tenant           string  `json:"tenant,omitempty"`
	ID               string  `json:"id,omitempty"`
	Created          int64   `json:"created,omitempty"`
	UserAgent        string  `json:"userAgent,omitempty"`
	DataResidency    string  `json:"dataResidency,omitempty"`
	Country          string  `json:"country,omitempty"`
	ScreenWidth      float64 `json:"screenWidth,omitempty"`
	ScreenHeight     float64 `json:"screenHeight,omitempty"`
	ScreenColorDepth float64 `json:"screenColorDepth,omitempty"`
	ScreenPixelDepth float64 `json:"screenPixelDepth,omitempty"`
}

// ApplyClient replaces c with the fields of the client record r and reports
// whether anything changed. Screen fields absent from r become 0. The latest
// record applied wins.
//
// The error is ErrWrongSession when c belongs to another tenant or client,
// or a *schemas.FieldError for an invalid clientCreated. On error c is
// unchanged.
func ApplyClient(c *ClientState, r *schemas.Client) (bool, error) {
	if err := checkOwner(c.Tenant, c.ID, r.TenantID, r.ClientID); err != nil {
		return false, err
	}
	created, err := schemas.ParseTime("clientCreated", r.ClientCreated)
	if err != nil {
		return false, err
	}

	next := ClientState{
		Tenant:           r.TenantID,
		ID:               r.ClientID,
		Created:          created.UnixMilli(),
		UserAgent:        r.ClientUserAgent,
		DataResidency:    r.DataResidency,
		Country:          r.Country,
		ScreenWidth:      orZero(r.ClientScreenWidth),
		ScreenHeight:     orZero(r.ClientScreenHeight),
		ScreenColorDepth: orZero(r.ClientScreenColorDepth),
		ScreenPixelDepth: orZero(r.ClientScreenPixelDepth),
	}
	if next == *c {
		return false, nil
	}
	*c = next
	return true, nil
}

func orZero(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
