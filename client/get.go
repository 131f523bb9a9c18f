package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/schemas"
)

// Backoff between the attempts of a get: minRetryDelay doubled per attempt
// up to maxRetryDelay, plus up to 20% random jitter.
const (
	minRetryDelay = 50 * time.Millisecond
	maxRetryDelay = time.Second
)

// GetSessionState returns the cart and the recent searches of a session of
// the Config's tenant, from the worker that owns the session. A session
// without state, or one of another tenant, returns an empty cart and no
// searches, not an error.
//
// While no worker owns the session's partition, or the worker asked no
// longer owns it, GetSessionState retries with backoff until the owner
// replies or ctx ends, so give ctx a deadline. It returns an error wrapping
// ErrInvalidRequest for an invalid sessionID.
func (c *Client) GetSessionState(ctx context.Context, sessionID string) (schemas.SessionStateAnswer, error) {
	var answer schemas.SessionStateAnswer
	if err := c.askSession(ctx, publish.OpSessionGet, sessionID, &answer); err != nil {
		return schemas.SessionStateAnswer{}, err
	}
	if answer.Session.Cart == nil {
		answer.Session.Cart = map[string]int64{}
	}
	if answer.Session.Search == nil {
		answer.Session.Search = []string{}
	}
	return answer, nil
}

// GetSpaceState returns the state of the space that a session belongs to.
// It requests the space from the session's owner, then the state from the
// space's owner. A session whose session record no worker has applied yet
// has no space and returns an empty state. The access key is not checked
// then, because keys are issued for spaces.
//
// username is the browser id and password the access key. Errors wrap
// ErrUnauthorized, ErrForbidden or ErrRateLimited when the key is
// rejected, and ErrInvalidRequest for an invalid id or an empty key.
// Retries are those of GetSessionState.
func (c *Client) GetSpaceState(ctx context.Context, username, password, sessionID string) (schemas.SpaceState, error) {
	spaceID, err := c.spaceOfSession(ctx, username, password, sessionID)
	if err != nil || spaceID == "" {
		return emptySpaceState(), err
	}
	return c.GetSpaceStateBySpace(ctx, username, password, spaceID)
}

// GetSpaceStateRows returns the per-session rows behind the state of the
// space that a session belongs to. It finds the space, checks the key and
// retries as GetSpaceState does.
func (c *Client) GetSpaceStateRows(ctx context.Context, username, password, sessionID string) (schemas.SpaceRows, error) {
	spaceID, err := c.spaceOfSession(ctx, username, password, sessionID)
	if err != nil || spaceID == "" {
		return emptySpaceRows(), err
	}
	return c.GetSpaceStateRowsBySpace(ctx, username, password, spaceID)
}

// GetSpaceStateBySpace returns the state of a space of the Config's tenant.
// A space without state returns an empty CART and no aggregates. Errors and
// retries are those of GetSpaceState.
func (c *Client) GetSpaceStateBySpace(ctx context.Context, username, password, spaceID string) (schemas.SpaceState, error) {
	var answer schemas.SpaceState
	if err := c.askSpace(ctx, publish.OpSpaceState, username, password, spaceID, &answer); err != nil {
		return emptySpaceState(), err
	}
	if answer.Cart == nil {
		answer.Cart = map[string]schemas.ProductTotal{}
	}
	if answer.Numbers == nil {
		answer.Numbers = map[string]schemas.NumberAggregate{}
	}
	return answer, nil
}

// GetSpaceStateRowsBySpace returns the per-session rows behind the state of
// a space of the Config's tenant. Errors and retries are those of
// GetSpaceState.
func (c *Client) GetSpaceStateRowsBySpace(ctx context.Context, username, password, spaceID string) (schemas.SpaceRows, error) {
	var answer schemas.SpaceRows
	if err := c.askSpace(ctx, publish.OpSpaceRows, username, password, spaceID, &answer); err != nil {
		return emptySpaceRows(), err
	}
	if answer.Rating == nil {
		answer.Rating = map[string]schemas.RatingRow{}
	}
	if answer.Cart == nil {
		answer.Cart = map[string]schemas.CartRow{}
	}
	return answer, nil
}

func emptySpaceState() schemas.SpaceState {
	return schemas.SpaceState{Cart: map[string]schemas.ProductTotal{}, Numbers: map[string]schemas.NumberAggregate{}}
}

func emptySpaceRows() schemas.SpaceRows {
	return schemas.SpaceRows{Rating: map[string]schemas.RatingRow{}, Cart: map[string]schemas.CartRow{}}
}

// spaceOfSession checks the form of the credentials, then returns the space
// of the session, or "" when it has none yet.
func (c *Client) spaceOfSession(ctx context.Context, username, password, sessionID string) (string, error) {
	if err := checkCredentials(username, password); err != nil {
		return "", err
	}
	var answer schemas.SessionSpaceAnswer
	if err := c.askSession(ctx, publish.OpSessionSpace, sessionID, &answer); err != nil {
		return "", err
	}
	return answer.SpaceID, nil
}

// checkCredentials rejects a browser id that is not a valid id and an empty
// access key before anything is sent.
func checkCredentials(username, password string) error {
	if err := schemas.CheckID("username", username); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	if password == "" {
		return fmt.Errorf("%w: password (the access key) is empty", ErrInvalidRequest)
	}
	return nil
}

// askSession sends op for sessionID to the session's owner and decodes the
// reply into out.
func (c *Client) askSession(ctx context.Context, op, sessionID string, out any) error {
	req := schemas.SessionRequest{TenantID: c.cfg.Tenant, SessionID: sessionID, DataResidency: c.cfg.Region}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	data, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("client: encode request: %w", err)
	}
	subject := func(ctx context.Context) (string, error) {
		partition, err := c.owners.session(ctx, sessionID)
		if err != nil {
			return "", err
		}
		return c.subjects.Query(publish.StageSession, partition, op), nil
	}
	return c.ask(ctx, fmt.Sprintf("%s of session %q", op, sessionID), subject, data, out)
}

// askSpace sends op with the credentials for spaceID to the space's owner
// and decodes the reply into out.
func (c *Client) askSpace(ctx context.Context, op, username, password, spaceID string, out any) error {
	req, data, err := c.spaceRequest(username, password, spaceID)
	if err != nil {
		return err
	}
	subject := func(ctx context.Context) (string, error) {
		partition, err := c.owners.space(ctx, req.TenantID, spaceID)
		if err != nil {
			return "", err
		}
		return c.subjects.Query(publish.StageSpace, partition, op), nil
	}
	return c.ask(ctx, fmt.Sprintf("%s of space %q", op, spaceID), subject, data, out)
}

// checkAccess sends an access check for spaceID to any worker, which
// returns nil when the key may read the space.
func (c *Client) checkAccess(ctx context.Context, username, password, spaceID string) error {
	_, data, err := c.spaceRequest(username, password, spaceID)
	if err != nil {
		return err
	}
	subject := func(context.Context) (string, error) { return c.subjects.AuthQuery(), nil }
	var ignored json.RawMessage
	return c.ask(ctx, fmt.Sprintf("access check for space %q", spaceID), subject, data, &ignored)
}

// spaceRequest builds and encodes the request of a space read.
func (c *Client) spaceRequest(username, password, spaceID string) (schemas.SpaceRequest, []byte, error) {
	if err := checkCredentials(username, password); err != nil {
		return schemas.SpaceRequest{}, nil, err
	}
	req := schemas.SpaceRequest{TenantID: c.cfg.Tenant, SpaceID: spaceID, DataResidency: c.cfg.Region, Username: username, Password: password}
	if err := req.Validate(); err != nil {
		return schemas.SpaceRequest{}, nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	data, err := json.Marshal(req)
	if err != nil {
		return schemas.SpaceRequest{}, nil, fmt.Errorf("client: encode request: %w", err)
	}
	return req, data, nil
}

// ask sends request to the subject that subject returns and decodes the
// reply into out. It makes attempts with backoff while the error is one
// that another attempt may not have, until ctx ends, and then returns an
// error wrapping ctx's error and the last failure. description names the
// request in errors and logs.
func (c *Client) ask(ctx context.Context, description string, subject func(context.Context) (string, error), request []byte, out any) error {
	delay := minRetryDelay
	var last error
	for attempt := 1; ; attempt++ {
		if err := c.checkOpen(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return giveUp(description, err, last)
		}

		subj, err := subject(ctx)
		if err == nil {
			err = c.askOnce(ctx, subj, request, out)
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return giveUp(description, ctx.Err(), err)
		}
		if !retryable(err) {
			return err
		}
		last = err
		c.retryLog.Debug().Err(err).Str("request", description).Int("attempt", attempt).Msg("request failed, retrying")

		if !sleep(ctx, delay+rand.N(delay/5+1)) {
			return giveUp(description, ctx.Err(), last)
		}
		delay = min(delay*2, maxRetryDelay)
	}
}

func giveUp(description string, ctxErr, last error) error {
	if last == nil {
		return fmt.Errorf("client: %s: %w", description, ctxErr)
	}
	return fmt.Errorf("client: %s: no reply before the context ended: %w; last error: %w", description, ctxErr, last)
}

// askOnce makes one request within Config.RequestTimeout and decodes the
// reply, or returns the worker's error as a *QueryError.
func (c *Client) askOnce(ctx context.Context, subject string, request []byte, out any) error {
	attemptCtx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	reply, err := c.nc.RequestWithContext(attemptCtx, subject, request)
	if errors.Is(err, nats.ErrConnectionClosed) && c.checkOpen() != nil {
		return ErrClosed
	}
	if err != nil {
		return fmt.Errorf("client: request to %s: %w", subject, err)
	}

	if code := reply.Header.Get(micro.ErrorCodeHeader); code != "" {
		n, err := strconv.Atoi(code)
		if err != nil {
			n = publish.CodeInternal
		}
		if n == publish.CodeMisdirected {
			c.owners.forget()
		}
		return &QueryError{Subject: subject, Code: n, Message: reply.Header.Get(micro.ErrorHeader)}
	}
	if err := json.Unmarshal(reply.Data, out); err != nil {
		return fmt.Errorf("client: decode reply from %s: %w", subject, err)
	}
	return nil
}

// retryable reports whether another attempt may succeed: no worker owns
// the partition yet, the worker asked does not own it or cannot check keys
// yet, the attempt timed out, or the connection is reconnecting.
func retryable(err error) bool {
	var qe *QueryError
	if errors.As(err, &qe) {
		return qe.retryable()
	}
	return errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, nats.ErrReconnectBufExceeded) ||
		errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.As(err, new(*partitionCountError))
}

// sleep waits for d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
