package rees46

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/gridsession/gridsession/schemas"
)

// Kind is the kind of a record, which selects its topic.
type Kind int

// Kinds of records.
const (
	KindClient Kind = iota + 1
	KindSession
	KindEvent
)

func (k Kind) String() string {
	switch k {
	case KindClient:
		return "client"
	case KindSession:
		return "session"
	case KindEvent:
		return "event"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Record is one record for Kafka.
type Record struct {
	Kind Kind
	// Key is the Kafka key: the clientId of a client record, the sessionId
	// of a session record or an event.
	Key string
	// Value is the record as JSON. Scan allocates it for each record, so
	// the emit function may keep it.
	Value []byte
	// Time is the clientCreated, sessionCreated or eventTime of the record,
	// after the rebase shift.
	Time time.Time
}

// Suffixes of the captureIds of the records that a row generates besides its
// own event.
const (
	captureSuffixClient   = "-client"
	captureSuffixSession  = "-session"
	captureSuffixIdentify = "-identify"
)

// contactTypeClientID is the str1 of the generated CONTACT_IDENTIFY events.
const contactTypeClientID = "CLIENT_ID"

// mapper turns parsed rows into validated records.
type mapper struct {
	opts      Options
	validator *schemas.Validator
	// shift is added to every time.
	shift time.Duration
}

func newMapper(opts Options, shift time.Duration) *mapper {
	return &mapper{opts: opts, validator: schemas.NewValidator(opts.Region), shift: shift}
}

// formatTime writes t in RFC 3339 in UTC, with a fraction of a second only
// when t has one.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// rowRecords builds the records of one row: a client record when newClient,
// a session record and a CONTACT_IDENTIFY event when newSession, then the
// row's own event. When a record fails validation it returns no records and
// the rejection reason.
func (m *mapper) rowRecords(r row, captureID string, newClient, newSession bool) ([]Record, string, error) {
	at := r.time.Add(m.shift)
	records := make([]Record, 0, 4)

	if newClient {
		rec, reason, err := m.client(r, at, captureID+captureSuffixClient)
		if reason != "" || err != nil {
			return nil, reason, err
		}
		records = append(records, rec)
	}
	if newSession {
		rec, reason, err := m.session(r, at, captureID+captureSuffixSession)
		if reason != "" || err != nil {
			return nil, reason, err
		}
		records = append(records, rec)

		rec, reason, err = m.identify(r, at, captureID+captureSuffixIdentify)
		if reason != "" || err != nil {
			return nil, reason, err
		}
		records = append(records, rec)
	}

	rec, reason, err := m.event(r, at, captureID)
	if reason != "" || err != nil {
		return nil, reason, err
	}
	return append(records, rec), "", nil
}

func (m *mapper) client(r row, at time.Time, captureID string) (Record, string, error) {
	c := &schemas.Client{
		TenantID:        m.opts.Tenant,
		ClientID:        r.clientID,
		ClientCreated:   formatTime(at),
		ClientUserAgent: clientUserAgent,
		DataResidency:   m.opts.Region,
		Country:         m.opts.Country,
		CaptureID:       captureID,
	}
	if err := m.validator.ValidateClient(c); err != nil {
		return Record{}, rejectReason(err), nil
	}
	return marshalRecord(KindClient, r.clientID, at, c)
}

func (m *mapper) session(r row, at time.Time, captureID string) (Record, string, error) {
	s := &schemas.Session{
		TenantID:            m.opts.Tenant,
		SessionID:           r.sessionID,
		SessionCreated:      formatTime(at),
		Environment:         environment,
		DataResidency:       m.opts.Region,
		Country:             m.opts.Country,
		SpaceID:             spaceID(r.userID),
		AppID:               appID,
		AppVersion:          appVersion,
		InstallationID:      r.clientID,
		InstallationVersion: installationVersion,
		DeviceID:            r.clientID,
		ClientID:            r.clientID,
		CaptureID:           captureID,
	}
	if err := m.validator.ValidateSession(s); err != nil {
		return Record{}, rejectReason(err), nil
	}
	return marshalRecord(KindSession, r.sessionID, at, s)
}

// identify builds the CONTACT_IDENTIFY event that names the session's
// client, as a device client sends when it starts.
func (m *mapper) identify(r row, at time.Time, captureID string) (Record, string, error) {
	contactType, contactValue := contactTypeClientID, r.clientID
	e := m.newEvent(r, at, captureID, schemas.EventContactIdentify)
	e.Str1 = &contactType
	e.Str2 = &contactValue
	if err := m.validator.ValidateEvent(e); err != nil {
		return Record{}, rejectReason(err), nil
	}
	return marshalRecord(KindEvent, r.sessionID, at, e)
}

func (m *mapper) event(r row, at time.Time, captureID string) (Record, string, error) {
	e, reason := m.rowEvent(r, at, captureID)
	if reason != "" {
		return Record{}, reason, nil
	}
	return marshalRecord(KindEvent, r.sessionID, at, e)
}

// rowEvent builds and validates the event of a row. It returns the
// rejection reason when the event is invalid.
func (m *mapper) rowEvent(r row, at time.Time, captureID string) (*schemas.Event, string) {
	e := m.newEvent(r, at, captureID, r.eventType)
	e.ProductID = r.productID
	e.CategoryID = r.categoryID
	if r.eventType == schemas.EventCartAdd || r.eventType == schemas.EventCartRemove {
		quantity := int64(1)
		e.Int1 = &quantity
	}
	cents := r.cents
	e.Int2 = &cents
	if err := m.validator.ValidateEvent(e); err != nil {
		return nil, rejectReason(err)
	}
	return e, ""
}

func (m *mapper) newEvent(r row, at time.Time, captureID, eventType string) *schemas.Event {
	return &schemas.Event{
		CaptureID:     captureID,
		ClientID:      r.clientID,
		DataResidency: m.opts.Region,
		EventTime:     formatTime(at),
		EventType:     eventType,
		SessionID:     r.sessionID,
		TenantID:      m.opts.Tenant,
	}
}

// spaceID returns the space of a session: "store-N" with N the user id
// modulo 10, which spreads the shoppers over ten stores.
func spaceID(userID uint64) string {
	return "store-" + strconv.FormatUint(userID%10, 10)
}

func marshalRecord(kind Kind, key string, at time.Time, v any) (Record, string, error) {
	value, err := json.Marshal(v)
	if err != nil {
		return Record{}, "", fmt.Errorf("rees46: encode %s record %s: %w", kind, key, err)
	}
	return Record{Kind: kind, Key: key, Value: value, Time: at.UTC()}, "", nil
}
