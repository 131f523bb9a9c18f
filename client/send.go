package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/schemas"
)

// SendClient sends a client record to the clients topic, keyed by its
// clientId. Empty TenantID and DataResidency take the Config's Tenant and
// Region, and an empty CaptureID a new random id. SendClient validates the
// record as the workers do and returns once every in-sync replica has it.
//
// It returns an error wrapping a *schemas.FieldError that names the field
// for an invalid record, an error wrapping an *ingest.SendError when Kafka
// did not acknowledge the write (which also wraps ctx's error when ctx
// ended first), or ErrClosed.
func (c *Client) SendClient(ctx context.Context, record schemas.Client) error {
	if record.TenantID == "" {
		record.TenantID = c.cfg.Tenant
	}
	if record.DataResidency == "" {
		record.DataResidency = c.cfg.Region
	}
	if record.CaptureID == "" {
		record.CaptureID = NewCaptureID()
	}
	value, err := encodeRecord(record)
	if err != nil {
		return err
	}
	if _, err := c.validator.DecodeClient(value); err != nil {
		return fmt.Errorf("client: invalid client record: %w", err)
	}
	return c.send(ctx, c.topics.Clients(), record.ClientID, value)
}

// SendSession sends a session record, which ties a session to its space,
// to the sessions topic, keyed by its sessionId. Defaults, validation and
// errors are those of SendClient.
func (c *Client) SendSession(ctx context.Context, record schemas.Session) error {
	if record.TenantID == "" {
		record.TenantID = c.cfg.Tenant
	}
	if record.DataResidency == "" {
		record.DataResidency = c.cfg.Region
	}
	if record.CaptureID == "" {
		record.CaptureID = NewCaptureID()
	}
	value, err := encodeRecord(record)
	if err != nil {
		return err
	}
	if _, err := c.validator.DecodeSession(value); err != nil {
		return fmt.Errorf("client: invalid session record: %w", err)
	}
	return c.send(ctx, c.topics.Sessions(), record.SessionID, value)
}

// SendEvent sends an event record to the events topic, keyed by its
// sessionId. Defaults, validation and errors are those of SendClient.
//
// Workers apply an event whose captureId is among the latest 256 of its
// session only once, so a caller that retries a failed send should set
// CaptureID with NewCaptureID first and send the same value again.
func (c *Client) SendEvent(ctx context.Context, record schemas.Event) error {
	if record.TenantID == "" {
		record.TenantID = c.cfg.Tenant
	}
	if record.DataResidency == "" {
		record.DataResidency = c.cfg.Region
	}
	if record.CaptureID == "" {
		record.CaptureID = NewCaptureID()
	}
	value, err := encodeRecord(record)
	if err != nil {
		return err
	}
	if _, err := c.validator.DecodeEvent(value); err != nil {
		return fmt.Errorf("client: invalid event record: %w", err)
	}
	return c.send(ctx, c.topics.Events(), record.SessionID, value)
}

// send writes one record with the murmur2 partitioner of the Producer.
func (c *Client) send(ctx context.Context, topic, key string, value []byte) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	err := c.producer.Send(ctx, kafka.Message{Topic: topic, Key: []byte(key), Value: value})
	if errors.Is(err, ingest.ErrProducerClosed) {
		return ErrClosed
	}
	if err != nil {
		return fmt.Errorf("client: send to %s: %w", topic, err)
	}
	return nil
}

// encodeRecord writes a record as JSON without escaping '<', '>' and '&',
// which ids and texts may contain, so the record stays as short as its
// fields.
func encodeRecord(record any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(record); err != nil {
		return nil, fmt.Errorf("client: encode record: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// NewCaptureID returns a random version 4 UUID, such as
// 3f2b8c1e-5d4a-4f6b-9c2d-7e8f9a0b1c2d, for a record's CaptureID. It
// contains only hex digits and '-', so it is a valid id and a plain subject
// token. The send methods call it for a record without a CaptureID; a
// caller that may send a record again sets one first, so that workers apply
// the record once.
func NewCaptureID() string {
	var b [16]byte
	// crypto/rand.Read never returns an error since Go 1.24; it crashes
	// the program instead when the system's randomness fails.
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80

	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}
