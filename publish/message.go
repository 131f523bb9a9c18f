package publish

import (
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
)

// Header names. Header lookups in nats.go are case-sensitive, so read them
// with these constants.
//
// The id headers carry raw ids, not tokens, so subscribers can read them
// without decoding. nats.go (v1.56.0) trims white space around header values
// and replaces CR and LF with spaces, so an id with such characters arrives
// altered in its header. The subject token is exact for every id: use
// Subjects.Parse to recover it.
const (
	// HeaderVersion is the decimal uint64 version of a state message. It
	// only grows per session or space.
	HeaderVersion = "Gridsession-Version"

	// HeaderTenant is the tenant id.
	HeaderTenant = "Gridsession-Tenant"

	// HeaderSession is the session id. Space messages carry it when they
	// are about one session, such as a raw event.
	HeaderSession = "Gridsession-Session"

	// HeaderSpace is the space id.
	HeaderSpace = "Gridsession-Space"

	// HeaderCaptureID is the capture id of a raw event, which subscribers
	// use to drop duplicates.
	HeaderCaptureID = "Gridsession-Capture-Id"
)

// Message is one NATS message to publish. Publish does not modify it and
// does not keep Data or Header after it returns.
type Message struct {
	Subject string
	Data    []byte
	Header  nats.Header
}

// IDs are the raw ids a message is about. An empty field adds no header.
type IDs struct {
	Tenant    string
	Session   string
	Space     string
	CaptureID string
}

// StateMessage builds a state message for subject with the version header
// and the id headers of ids. The message shares data with the caller.
func StateMessage(subject string, version uint64, data []byte, ids IDs) Message {
	m := EventMessage(subject, data, ids)
	m.Header.Set(HeaderVersion, strconv.FormatUint(version, 10))
	return m
}

// EventMessage builds a raw event message for subject with the id headers
// of ids. The message shares data with the caller.
func EventMessage(subject string, data []byte, ids IDs) Message {
	h := nats.Header{}
	setIfNotEmpty(h, HeaderTenant, ids.Tenant)
	setIfNotEmpty(h, HeaderSession, ids.Session)
	setIfNotEmpty(h, HeaderSpace, ids.Space)
	setIfNotEmpty(h, HeaderCaptureID, ids.CaptureID)
	return Message{Subject: subject, Data: data, Header: h}
}

func setIfNotEmpty(h nats.Header, key, value string) {
	if value != "" {
		h.Set(key, value)
	}
}

// Version returns the Gridsession-Version header of a received message. It
// returns an error wrapping ErrInvalidVersion when the header is missing or
// not a decimal uint64.
func Version(h nats.Header) (uint64, error) {
	v := h.Get(HeaderVersion)
	if v == "" {
		return 0, fmt.Errorf("%w: no %s header", ErrInvalidVersion, HeaderVersion)
	}
	version, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s is %q", ErrInvalidVersion, HeaderVersion, v)
	}
	return version, nil
}
