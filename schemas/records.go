package schemas

import "time"

// Client describes a device client. Kafka key: ClientID.
type Client struct {
	TenantID               string   `json:"tenantId"`
	ClientID               string   `json:"clientId"`
	ClientCreated          string   `json:"clientCreated"`
	ClientUserAgent        string   `json:"clientUserAgent"`
	DataResidency          string   `json:"dataResidency"`
	Country                string   `json:"country"`
	LocationAccuracy       *float64 `json:"locationAccuracy,omitempty"`
	Latitude               *float64 `json:"latitude,omitempty"`
	Longitude              *float64 `json:"longitude,omitempty"`
	ClientScreenWidth      *float64 `json:"clientScreenWidth,omitempty"`
	ClientScreenHeight     *float64 `json:"clientScreenHeight,omitempty"`
	ClientScreenColorDepth *float64 `json:"clientScreenColorDepth,omitempty"`
	ClientScreenPixelDepth *float64 `json:"clientScreenPixelDepth,omitempty"`
	CaptureID              string   `json:"captureId,omitempty"`
}

// Session announces a session and ties it to a space. Kafka key: SessionID.
type Session struct {
	TenantID            string   `json:"tenantId"`
	SessionID           string   `json:"sessionId"`
	SessionCreated      string   `json:"sessionCreated"`
	Environment         string   `json:"environment"`
	DataResidency       string   `json:"dataResidency"`
	Country             string   `json:"country"`
	SpaceID             string   `json:"spaceId"`
	AppID               string   `json:"appId"`
	AppVersion          string   `json:"appVersion"`
	InstallationID      string   `json:"installationId"`
	InstallationVersion string   `json:"installationVersion"`
	DeviceID            string   `json:"deviceId"`
	ClientID            string   `json:"clientId"`
	LocationAccuracy    *float64 `json:"locationAccuracy,omitempty"`
	Latitude            *float64 `json:"latitude,omitempty"`
	Longitude           *float64 `json:"longitude,omitempty"`
	CaptureID           string   `json:"captureId,omitempty"`
}

// Event is something that happened in a session. Kafka key: SessionID.
//
// Its JSON form is also the raw event that event subscriptions receive, so
// captureId, interaction, ip and productId are always present there.
type Event struct {
	CaptureID     string  `json:"captureId"`
	ClientID      string  `json:"clientId"`
	DataResidency string  `json:"dataResidency"`
	EventTime     string  `json:"eventTime"`
	EventType     string  `json:"eventType"`
	Interaction   bool    `json:"interaction"`
	IP            string  `json:"ip"`
	ProductID     string  `json:"productId"`
	SessionID     string  `json:"sessionId"`
	TenantID      string  `json:"tenantId"`
	CategoryID    string  `json:"categoryId,omitempty"`
	Int1          *int64  `json:"int1,omitempty"`
	Int2          *int64  `json:"int2,omitempty"`
	Int3          *int64  `json:"int3,omitempty"`
	Int4          *int64  `json:"int4,omitempty"`
	Int5          *int64  `json:"int5,omitempty"`
	Str1          *string `json:"str1,omitempty"`
	Str2          *string `json:"str2,omitempty"`
	Str3          *string `json:"str3,omitempty"`
	Str4          *string `json:"str4,omitempty"`
	Str5          *string `json:"str5,omitempty"`
	// Stateful makes the event set the session key EventType to its value
	// (Str1, or Int1 when Str1 is absent).
	Stateful bool `json:"stateful,omitempty"`
	// Public is the expiry of a stateful value in milliseconds after the
	// event time.
	Public *int64 `json:"public,omitempty"`

	// Time is EventTime parsed; set by DecodeEvent and Validate.
	Time time.Time `json:"-"`
}

// Event types with built-in semantics. Any other type is published as a raw
// event and updates the session's last activity only, unless it is stateful.
const (
	EventCartAdd         = "CART_ADD"
	EventCartRemove      = "CART_REMOVE"
	EventCartClear       = "CART_CLEAR"
	EventPurchase        = "PURCHASE"
	EventSearch          = "SEARCH"
	EventSearchClear     = "SEARCH_CLEAR"
	EventRating          = "RATING"
	EventContactIdentify = "CONTACT_IDENTIFY"
	EventProductView     = "PRODUCT_VIEW"
)

// Session state keys in answers. A stateful event may not use these names.
const (
	KeyCart   = "CART"
	KeySearch = "SEARCH"
	KeyRating = "RATING"
)
