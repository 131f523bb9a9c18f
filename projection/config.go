package projection

import "time"

// Defaults that WithDefaults gives to Config fields that are zero or negative.
const (
	DefaultMaxCartProducts = 1000
	DefaultMaxSearches     = 50
	DefaultMaxStatefulKeys = 64
	DefaultCaptureWindow   = 256
	DefaultMaxClockSkew    = 5 * time.Minute
)

// Default lifetimes of state values. A cart expires CartTTL after the
// session's last cart change and a rating RatingTTL after it was given.
const (
	DefaultCartTTL   = 30 * time.Minute
	DefaultRatingTTL = 24 * time.Hour
)

// DefaultStatefulExpiry is how long a stateful value lives after its event
// time when the event has no public field.
const DefaultStatefulExpiry = 24 * time.Hour

// Config holds the limits of the session reducers. The reducers apply
// WithDefaults themselves, so the zero value works for every event type
// except CONTACT_IDENTIFY, which needs ContactKey.
type Config struct {
	// ContactKey is the HMAC-SHA256 key for contact values. While it is
	// empty, CONTACT_IDENTIFY events fail with ErrNoContactKey.
	ContactKey []byte
	// MaxCartProducts is the maximum number of distinct products in one
	// session's cart; default 1000.
	MaxCartProducts int
	// MaxSearches is how many searches a session keeps, newest last;
	// default 50.
	MaxSearches int
	// MaxStatefulKeys is the maximum number of stateful keys per session;
	// default 64.
	MaxStatefulKeys int
	// CaptureWindow is how many captureIds of applied events a session
	// remembers to drop duplicates; default 256. A duplicate that arrives
	// after this many newer events is applied again.
	CaptureWindow int
	// MaxClockSkew is how far an event time may run ahead of the Kafka
	// record timestamp before it is clamped; default 5 minutes.
	MaxClockSkew time.Duration
	// CartTTL is how long a cart lives after its last change; default 30
	// minutes.
	CartTTL time.Duration
	// RatingTTL is how long a rating lives after it was given; default 24
	// hours.
	RatingTTL time.Duration
}

// WithDefaults returns a copy of c in which every zero or negative limit is
// replaced by its default. ContactKey is left as it is.
func (c Config) WithDefaults() Config {
	if c.MaxCartProducts <= 0 {
		c.MaxCartProducts = DefaultMaxCartProducts
	}
	if c.MaxSearches <= 0 {
		c.MaxSearches = DefaultMaxSearches
	}
	if c.MaxStatefulKeys <= 0 {
		c.MaxStatefulKeys = DefaultMaxStatefulKeys
	}
	if c.CaptureWindow <= 0 {
		c.CaptureWindow = DefaultCaptureWindow
	}
	if c.MaxClockSkew <= 0 {
		c.MaxClockSkew = DefaultMaxClockSkew
	}
	if c.CartTTL <= 0 {
		c.CartTTL = DefaultCartTTL
	}
	if c.RatingTTL <= 0 {
		c.RatingTTL = DefaultRatingTTL
	}
	return c
}
