package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/access"
	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/schemas"
)

// AccessChecker checks the access key of a space read. access.Registry is
// one.
type AccessChecker interface {
	Check(ctx context.Context, browserID, secret, tenant, space string) error
}

// queryVersion is the version the query services announce.
const queryVersion = "1.0.0"

// serveQueries starts serving gets for the partition from its store,
// when the worker has a NATS connection for queries. The caller stops the
// returned service before it closes the store.
func (p *partition) serveQueries() (*publish.QueryService, error) {
	if p.w.cfg.Queries == nil {
		return nil, nil
	}
	subjects := p.w.cfg.Subjects
	stage := p.stage.name()
	ops := []string{publish.OpSessionGet, publish.OpSessionSpace}
	if stage == publish.StageSpace {
		ops = []string{publish.OpSpaceState, publish.OpSpaceRows}
	}
	subject := func(op string) string { return subjects.Query(stage, p.num, op) }
	return publish.ServeQueries(p.w.cfg.Queries, "gridsession-"+stage, queryVersion, ops, subject, p.answer)
}

func (p *partition) answer(ctx context.Context, op string, request []byte) (any, error) {
	switch op {
	case publish.OpSessionGet, publish.OpSessionSpace:
		return p.answerSession(op, request)
	default:
		return p.answerSpace(ctx, op, request)
	}
}

func badRequest(err error) error {
	return &publish.QueryError{Code: publish.CodeBadRequest, Message: err.Error()}
}

func (p *partition) answerSession(op string, request []byte) (any, error) {
	var req schemas.SessionRequest
	if err := json.Unmarshal(request, &req); err != nil {
		return nil, badRequest(fmt.Errorf("invalid request: %w", err))
	}
	if err := req.Validate(); err != nil {
		return nil, badRequest(err)
	}
	if owner := p.w.partitionOf([]byte(req.SessionID)); owner != p.num {
		return nil, &publish.QueryError{Code: publish.CodeMisdirected, Message: fmt.Sprintf("session %q belongs to partition %d, not %d", req.SessionID, owner, p.num)}
	}

	raw, ok, err := p.store.Get(req.TenantID, tableSession, req.SessionID)
	if err != nil {
		return nil, err
	}
	s := &projection.Session{}
	if ok {
		if s, err = projection.Unmarshal(raw); err != nil {
			return nil, err
		}
	}
	if op == publish.OpSessionSpace {
		if !s.Known {
			return schemas.SessionSpaceAnswer{}, nil
		}
		return schemas.SessionSpaceAnswer{SpaceID: s.SpaceID}, nil
	}
	return schemas.SessionStateAnswer{Session: s.ViewAt(p.w.now().UnixMilli(), p.w.cfg.Projection)}, nil
}

func (p *partition) answerSpace(ctx context.Context, op string, request []byte) (any, error) {
	var req schemas.SpaceRequest
	if err := json.Unmarshal(request, &req); err != nil {
		return nil, badRequest(fmt.Errorf("invalid request: %w", err))
	}
	if err := req.Validate(); err != nil {
		return nil, badRequest(err)
	}
	if owner := p.w.spacePartitionOf(req.TenantID, req.SpaceID); owner != p.num {
		return nil, &publish.QueryError{Code: publish.CodeMisdirected, Message: fmt.Sprintf("space %q belongs to partition %d, not %d", req.SpaceID, owner, p.num)}
	}
	if err := p.w.checkAccess(ctx, req); err != nil {
		return nil, err
	}

	raw, ok, err := p.store.Get(req.TenantID, tableSpace, req.SpaceID)
	if err != nil {
		return nil, err
	}
	var sp *projection.Space
	if ok {
		if sp, err = projection.UnmarshalSpace(raw); err != nil {
			return nil, err
		}
	}
	now := p.w.now().UnixMilli()
	if op == publish.OpSpaceRows {
		return sp.RowsView(now), nil
	}
	return sp.View(now), nil
}

// checkAccess returns nil when the request's key may read its space, and a
// QueryError with the matching code otherwise.
func (w *Worker) checkAccess(ctx context.Context, req schemas.SpaceRequest) error {
	if w.cfg.Access == nil {
		return &publish.QueryError{Code: publish.CodeUnavailable, Message: "this worker checks no access keys"}
	}
	err := w.cfg.Access.Check(ctx, req.Username, req.Password, req.TenantID, req.SpaceID)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, access.ErrUnauthorized):
		return &publish.QueryError{Code: publish.CodeUnauthorized, Message: "invalid browser id or access key"}
	case errors.Is(err, access.ErrForbidden):
		return &publish.QueryError{Code: publish.CodeForbidden, Message: "the access key does not cover this tenant and space"}
	case errors.Is(err, access.ErrRateLimited):
		return &publish.QueryError{Code: publish.CodeRateLimited, Message: "too many failed attempts for this browser id; try again later"}
	}
	return &publish.QueryError{Code: publish.CodeUnavailable, Message: "access keys unavailable: " + err.Error()}
}

// serveAuth serves access checks for space subscriptions from any worker.
func (w *Worker) serveAuth() (*publish.QueryService, error) {
	if w.cfg.Queries == nil {
		return nil, nil
	}
	subject := func(string) string { return w.cfg.Subjects.AuthQuery() }
	return publish.ServeQueries(w.cfg.Queries, "gridsession-auth", queryVersion, []string{publish.OpAuth}, subject,
		func(ctx context.Context, _ string, request []byte) (any, error) {
			var req schemas.SpaceRequest
			if err := json.Unmarshal(request, &req); err != nil {
				return nil, badRequest(fmt.Errorf("invalid request: %w", err))
			}
			if err := req.Validate(); err != nil {
				return nil, badRequest(err)
			}
			if err := w.checkAccess(ctx, req); err != nil {
				return nil, err
			}
			return struct{}{}, nil
		})
}

// spacePartitionOf returns the space-stage partition of a space, or -1 when
// the partition count is unknown.
func (w *Worker) spacePartitionOf(tenant, space string) int {
	if len(w.spacePartitionList) == 0 {
		return -1
	}
	return w.balancer.Balance(kafka.Message{Key: []byte(ingest.SpaceKey(tenant, space))}, w.spacePartitionList...)
}
