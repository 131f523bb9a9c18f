package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Query operations. Session-stage partitions serve OpSessionGet and
// OpSessionSpace, space-stage partitions serve OpSpaceState and
// OpSpaceRows, and every worker serves OpAuth.
const (
	OpSessionGet   = "get"
	OpSessionSpace = "space"
	OpSpaceState   = "state"
	OpSpaceRows    = "rows"
	OpAuth         = "auth"
)

// Query stages, the second token of a query subject.
const (
	StageSession = "session"
	StageSpace   = "space"
)

// Query error codes, sent in the Nats-Service-Error-Code header. They follow
// the HTTP status codes of the same meaning.
const (
	CodeBadRequest   = 400
	CodeUnauthorized = 401
	CodeForbidden    = 403
	CodeMisdirected  = 421
	CodeRateLimited  = 429
	CodeInternal     = 500
	CodeUnavailable  = 503
)

// apiPrefix returns the first token of query subjects: the subject prefix
// with "_api" appended. It differs from every subject of the state and
// event streams, so a subscriber to a tenant's subjects never receives
// requests, which carry access keys.
func (s Subjects) apiPrefix() string { return s.prefix() + "_api" }

// Query returns the subject on which the owner of one partition of a stage
// serves op, such as gridsession_api.session.p3.get.
func (s Subjects) Query(stage string, partition int, op string) string {
	return s.apiPrefix() + "." + stage + ".p" + strconv.Itoa(partition) + "." + op
}

// AuthQuery returns the subject on which any worker checks an access key.
func (s Subjects) AuthQuery() string { return s.apiPrefix() + "." + OpAuth }

// QueryError is an error response with a code.
type QueryError struct {
	Code    int
	Message string
}

func (e *QueryError) Error() string { return fmt.Sprintf("query failed (%d): %s", e.Code, e.Message) }

// QueryHandler answers one operation. It returns the answer, encoded as
// JSON, or an error; a *QueryError keeps its code and any other error is
// answered with CodeInternal.
type QueryHandler func(ctx context.Context, op string, request []byte) (any, error)

// QueryService answers the queries of one partition, or the worker-wide
// ones, until Stop.
type QueryService struct {
	svc micro.Service
}

// ServeQueries registers handle for each op on the subjects that subject
// returns, as a NATS micro service named name. Requests are spread over the
// members of a queue group, so a partition that two workers briefly both
// own is answered once.
func ServeQueries(nc *nats.Conn, name, version string, ops []string, subject func(op string) string, handle QueryHandler) (*QueryService, error) {
	svc, err := micro.AddService(nc, micro.Config{Name: name, Version: version})
	if err != nil {
		return nil, fmt.Errorf("publish: start query service %s: %w", name, err)
	}
	for _, op := range ops {
		op := op
		handler := micro.HandlerFunc(func(req micro.Request) { answer(req, op, handle) })
		if err := svc.AddEndpoint(op, handler, micro.WithEndpointSubject(subject(op)), micro.WithEndpointQueueGroup("gridsession")); err != nil {
			svc.Stop()
			return nil, fmt.Errorf("publish: add query endpoint %s: %w", subject(op), err)
		}
	}
	return &QueryService{svc: svc}, nil
}

// queryTimeout bounds one handler call.
const queryTimeout = 10 * time.Second

func answer(req micro.Request, op string, handle QueryHandler) {
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()

	out, err := handle(ctx, op, req.Data())
	if err != nil {
		var qe *QueryError
		if !errors.As(err, &qe) {
			qe = &QueryError{Code: CodeInternal, Message: err.Error()}
		}
		_ = req.Error(strconv.Itoa(qe.Code), qe.Message, nil)
		return
	}
	data, err := json.Marshal(out)
	if err != nil {
		_ = req.Error(strconv.Itoa(CodeInternal), "encode response: "+err.Error(), nil)
		return
	}
	_ = req.Respond(data)
}

// Stop unsubscribes the service's endpoints. It is safe to call twice.
func (q *QueryService) Stop() {
	if q != nil && q.svc != nil && !q.svc.Stopped() {
		_ = q.svc.Stop()
	}
}
