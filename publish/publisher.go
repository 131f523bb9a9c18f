package publish

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultFlushTimeout bounds the flush of a Publish whose context has no
// deadline.
const DefaultFlushTimeout = 5 * time.Second

// Publisher sends batches of messages over one NATS connection. It is safe
// for concurrent use. The caller owns the connection and closes it after the
// last Publish.
type Publisher struct {
	nc           *nats.Conn
	flushTimeout time.Duration
}

// Option configures a Publisher.
type Option func(*Publisher)

// WithFlushTimeout sets how long Publish waits for the server to confirm a
// batch when its context has no deadline, overriding DefaultFlushTimeout. A
// value of zero or less keeps the default.
func WithFlushTimeout(d time.Duration) Option {
	return func(p *Publisher) {
		if d > 0 {
			p.flushTimeout = d
		}
	}
}

// New returns a Publisher that sends over nc.
func New(nc *nats.Conn, opts ...Option) *Publisher {
	p := &Publisher{nc: nc, flushTimeout: DefaultFlushTimeout}
	for _, opt := range opts {
		opt(p)
	}
	return p
}

// Publish sends msgs in order and returns once the server has received all
// of them, which it confirms by answering a ping sent after the last one.
//
// On error some messages may have reached subscribers and others not. The
// caller retries the whole batch, and subscribers drop the duplicates by
// version or capture id. Errors wrap the subject involved. Publish checks
// every subject before sending anything and returns an error wrapping
// ErrInvalidSubject for a bad one, which no retry can fix. It returns an
// error wrapping ErrNotConnected at once while the connection is
// reconnecting, instead of waiting for the flush to time out.
//
// The flush waits until ctx ends, or for the flush timeout when ctx has no
// deadline.
func (p *Publisher) Publish(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish: %d messages: %w", len(msgs), err)
	}
	if !p.nc.IsConnected() {
		return fmt.Errorf("%w: connection status is %s", ErrNotConnected, p.nc.Status())
	}

	var skipped []error
	maxPayload := p.nc.MaxPayload()
	for i := range msgs {
		m := &msgs[i]
		if err := checkSubject(m.Subject); err != nil {
			skipped = append(skipped, fmt.Errorf("%w: message %d: %s %w", ErrInvalidSubject, i, quoteSubject(m.Subject), err))
			continue
		}
		if size := messageSize(m); maxPayload > 0 && size > maxPayload {
			skipped = append(skipped, fmt.Errorf("%w: message %d to %s is %d bytes, the limit is %d", ErrTooLarge, i, quoteSubject(m.Subject), size, maxPayload))
			continue
		}
		err := p.nc.PublishMsg(&nats.Msg{Subject: m.Subject, Data: m.Data, Header: m.Header})
		if err != nil {
			return fmt.Errorf("publish: %s: %w", quoteSubject(m.Subject), err)
		}
	}

	// FlushWithContext rejects a context without a deadline.
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.flushTimeout)
		defer cancel()
	}
	if err := p.nc.FlushWithContext(ctx); err != nil {
		last := msgs[len(msgs)-1].Subject
		return fmt.Errorf("publish: flush %d messages ending with %s: %w", len(msgs), quoteSubject(last), err)
	}
	if len(skipped) > 0 {
		return fmt.Errorf("%w: %d of %d: %w", ErrUndeliverable, len(skipped), len(msgs), errors.Join(skipped...))
	}
	return nil
}

// messageSize returns the bytes a message counts against the server's
// maximum payload: the data and the encoded headers.
func messageSize(m *Message) int64 {
	size := int64(len(m.Data))
	if len(m.Header) > 0 {
		size += int64(len("NATS/1.0\r\n\r\n"))
		for k, values := range m.Header {
			for _, v := range values {
				size += int64(len(k) + len(": ") + len(v) + len("\r\n"))
			}
		}
	}
	return size
}
