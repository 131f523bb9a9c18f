package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/schemas"
)

// eventWindow is how many captureIds an event subscription remembers to
// drop duplicates. A duplicate that arrives after this many other events
// is delivered again.
const eventWindow = 1024

// Subscription delivers the messages of one NATS subject to a callback:
// state messages (T is schemas.SessionState or schemas.SpaceState) or raw
// events (T is schemas.Event). It drops a state message whose version is
// not above the last one delivered, and an event whose captureId is among
// the last 1024 delivered. Messages that fail to decode are dropped and
// logged.
type Subscription[T any] struct {
	c       *Client
	subject string
	// accept decodes a message and reports whether it is new. It runs
	// with mu held, so it may keep state.
	accept func(m *nats.Msg) (T, bool)

	// mu is held while a callback runs, so Stop waits for it.
	mu       sync.Mutex
	callback func(T)
	sub      *nats.Subscription
	stopped  bool
}

// Subscribe starts delivering messages to callback and returns once the
// NATS server has the subscription, so messages published after Subscribe
// returns reach it. Messages published earlier do not. callback is called
// from one goroutine, in the order the messages arrive, which for one
// session or space is the order the worker published them.
//
// The subscription is a plain NATS subscription, which the server does not
// store, so messages published while the connection is down are lost. While a callback runs, the messages after it wait in
// the NATS client's buffer, which holds 500,000 messages or 64 MiB
// (nats.go v1.56.0 defaults). A callback that falls further behind loses
// messages, and the client logs a slow consumer error.
//
// Subscribe may be called once. It returns ErrSubscribed after that,
// ErrStopped after Stop and ErrClosed after the Client's Close.
func (s *Subscription[T]) Subscribe(callback func(T)) error {
	if callback == nil {
		return errors.New("client: Subscribe needs a callback, not nil")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.stopped:
		return ErrStopped
	case s.sub != nil:
		return ErrSubscribed
	}
	if err := s.c.track(s); err != nil {
		return err
	}

	sub, err := s.c.nc.Subscribe(s.subject, s.deliver)
	if err == nil {
		err = s.c.nc.FlushTimeout(s.c.cfg.RequestTimeout)
	}
	if err != nil {
		if sub != nil {
			_ = sub.Unsubscribe()
		}
		s.c.untrack(s)
		return fmt.Errorf("client: subscribe to %s: %w", s.subject, err)
	}
	s.sub, s.callback = sub, callback
	return nil
}

// Stop ends the subscription. It waits for a running callback to return,
// and no callback starts after Stop returns. Stop is safe to call more
// than once, but not from the callback, because it would wait for itself.
// A callback that wants to stop the subscription can call go s.Stop().
func (s *Subscription[T]) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	sub := s.sub
	s.mu.Unlock()

	if sub != nil {
		// Unsubscribe fails when the connection is closed or draining,
		// which ends the subscription too.
		_ = sub.Unsubscribe()
	}
	s.c.untrack(s)
}

// Subject returns the NATS subject of the subscription.
func (s *Subscription[T]) Subject() string { return s.subject }

// deliver runs on the NATS client's goroutine for this subscription.
func (s *Subscription[T]) deliver(m *nats.Msg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// callback is nil when a message arrives while Subscribe fails.
	if s.stopped || s.callback == nil {
		return
	}
	value, ok := s.accept(m)
	if !ok {
		return
	}
	s.callback(value)
}

// CreateSessionStateSubscription returns a subscription to the state of a
// session of the Config's tenant: the whole state after every change, as
// in {"CART": {"p1": 2}, "SEARCH": ["shoes"]}. It returns an error wrapping
// ErrInvalidRequest for an invalid sessionID. Call Subscribe to start it.
func (c *Client) CreateSessionStateSubscription(ctx context.Context, sessionID string) (*Subscription[schemas.SessionState], error) {
	if err := c.checkSubscription(ctx, "sessionId", sessionID); err != nil {
		return nil, err
	}
	subject := c.subjects.SessionState(c.cfg.Tenant, sessionID)
	return newSubscription(c, subject, versioned(c, subject, decodeSessionState)), nil
}

// CreateSessionEventSubscription returns a subscription to the events that
// workers apply to a session of the Config's tenant. It returns an error
// wrapping ErrInvalidRequest for an invalid sessionID.
func (c *Client) CreateSessionEventSubscription(ctx context.Context, sessionID string) (*Subscription[schemas.Event], error) {
	if err := c.checkSubscription(ctx, "sessionId", sessionID); err != nil {
		return nil, err
	}
	subject := c.subjects.SessionEvents(c.cfg.Tenant, sessionID)
	return newSubscription(c, subject, deduplicated(c, subject)), nil
}

// CreateSpaceStateSubscription checks the access key, then returns a
// subscription to the state of a space of the Config's tenant, published
// after every change. Errors wrap ErrUnauthorized, ErrForbidden or
// ErrRateLimited when a worker rejects the key, and ErrInvalidRequest for
// an invalid id or an empty key. The check retries as gets do until ctx
// ends.
//
// NOTE: the key is checked once, here. A key revoked later does not end
// the subscription, and NATS itself does not check keys: deployments with
// untrusted clients must limit subscribe permissions on the NATS server.
func (c *Client) CreateSpaceStateSubscription(ctx context.Context, username, password, spaceID string) (*Subscription[schemas.SpaceState], error) {
	if err := c.checkSpaceSubscription(ctx, username, password, spaceID); err != nil {
		return nil, err
	}
	subject := c.subjects.SpaceState(c.cfg.Tenant, spaceID)
	return newSubscription(c, subject, versioned(c, subject, decodeSpaceState)), nil
}

// CreateSpaceEventSubscription checks the access key, then returns a
// subscription to the events of the sessions in a space of the Config's
// tenant. Errors are those of CreateSpaceStateSubscription.
func (c *Client) CreateSpaceEventSubscription(ctx context.Context, username, password, spaceID string) (*Subscription[schemas.Event], error) {
	if err := c.checkSpaceSubscription(ctx, username, password, spaceID); err != nil {
		return nil, err
	}
	subject := c.subjects.SpaceEvents(c.cfg.Tenant, spaceID)
	return newSubscription(c, subject, deduplicated(c, subject)), nil
}

func newSubscription[T any](c *Client, subject string, accept func(*nats.Msg) (T, bool)) *Subscription[T] {
	return &Subscription[T]{c: c, subject: subject, accept: accept}
}

func (c *Client) checkSubscription(ctx context.Context, field, id string) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := schemas.CheckID(field, id); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return nil
}

func (c *Client) checkSpaceSubscription(ctx context.Context, username, password, spaceID string) error {
	if err := c.checkSubscription(ctx, "spaceId", spaceID); err != nil {
		return err
	}
	return c.checkAccess(ctx, username, password, spaceID)
}

// versioned returns an accept function for state messages: it decodes a
// message with decode and accepts it when its version is above the last
// accepted one.
func versioned[T any](c *Client, subject string, decode func([]byte) (T, error)) func(*nats.Msg) (T, bool) {
	var last uint64
	seen := false
	return func(m *nats.Msg) (T, bool) {
		var zero T
		version, err := publish.Version(m.Header)
		if err != nil {
			c.dropLog.Warn().Err(err).Str("subject", subject).Msg("state message without a valid version dropped")
			return zero, false
		}
		if seen && version <= last {
			return zero, false
		}
		value, err := decode(m.Data)
		if err != nil {
			c.dropLog.Warn().Err(err).Str("subject", subject).Uint64("version", version).Msg("undecodable state message dropped")
			return zero, false
		}
		last, seen = version, true
		return value, true
	}
}

func decodeSessionState(data []byte) (schemas.SessionState, error) {
	var s schemas.SessionState
	if err := json.Unmarshal(data, &s); err != nil {
		return s, err
	}
	if s.Cart == nil {
		s.Cart = map[string]int64{}
	}
	if s.Search == nil {
		s.Search = []string{}
	}
	return s, nil
}

func decodeSpaceState(data []byte) (schemas.SpaceState, error) {
	var s schemas.SpaceState
	err := json.Unmarshal(data, &s)
	return s, err
}

// deduplicated returns an accept function for raw events: it decodes an
// event and accepts it unless its captureId is among the last eventWindow
// accepted. An event without a captureId is always accepted.
func deduplicated(c *Client, subject string) func(*nats.Msg) (schemas.Event, bool) {
	recent := newIDWindow(eventWindow)
	return func(m *nats.Msg) (schemas.Event, bool) {
		var e schemas.Event
		if err := json.Unmarshal(m.Data, &e); err != nil {
			c.dropLog.Warn().Err(err).Str("subject", subject).Msg("undecodable event dropped")
			return e, false
		}
		id := m.Header.Get(publish.HeaderCaptureID)
		if id == "" {
			id = e.CaptureID
		}
		if id != "" && !recent.add(id) {
			return e, false
		}
		if t, err := time.Parse(time.RFC3339Nano, e.EventTime); err == nil {
			e.Time = t
		}
		return e, true
	}
}

// idWindow remembers the last ids added, up to its capacity.
type idWindow struct {
	ids  []string
	next int
	set  map[string]struct{}
}

func newIDWindow(capacity int) *idWindow {
	return &idWindow{ids: make([]string, 0, capacity), set: make(map[string]struct{}, capacity)}
}

// add remembers id and reports whether it was new. When the window is full,
// the oldest id is forgotten.
func (w *idWindow) add(id string) bool {
	if _, ok := w.set[id]; ok {
		return false
	}
	if len(w.ids) < cap(w.ids) {
		w.ids = append(w.ids, id)
	} else {
		delete(w.set, w.ids[w.next])
		w.ids[w.next] = id
		w.next = (w.next + 1) % len(w.ids)
	}
	w.set[id] = struct{}{}
	return true
}
