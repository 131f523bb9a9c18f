package ops

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Timeouts of the HTTP server, which bound slow or stuck clients.
const (
	readHeaderTimeout = 5 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 5 * time.Second
)

// Server serves /metrics, /healthz and /readyz over HTTP.
type Server struct {
	http *http.Server
	ln   net.Listener
	log  zerolog.Logger
	// served is closed when Serve has returned.
	served    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// NewHandler returns the handler of the three endpoints:
//
//	/metrics  the metrics of m in the Prometheus formats
//	/healthz  200 until the worker stops, then 503
//	/readyz   200 while r.Check returns nil, else 503 with the reason
func NewHandler(m *Metrics, r *Readiness) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeProbe(w, r.Live())
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		writeProbe(w, r.Check())
	})
	return mux
}

func writeProbe(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, err)
		return
	}
	fmt.Fprintln(w, "ok")
}

// Listen binds addr, host:port where port 0 picks a free port, and serves
// NewHandler(m, r) in the background until Close. Binding happens before it
// returns, so an address in use fails here.
func Listen(addr string, m *Metrics, r *Readiness, log zerolog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ops: listen on %s: %w", addr, err)
	}
	s := &Server{
		http: &http.Server{
			Handler:           NewHandler(m, r),
			ReadHeaderTimeout: readHeaderTimeout,
			WriteTimeout:      writeTimeout,
			IdleTimeout:       idleTimeout,
		},
		ln:     ln,
		log:    log,
		served: make(chan struct{}),
	}
	go s.serve()
	log.Info().Str("addr", s.Addr()).Msg("http server started")
	return s, nil
}

func (s *Server) serve() {
	defer close(s.served)
	err := s.http.Serve(s.ln)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error().Err(err).Str("addr", s.Addr()).Msg("http server failed")
	}
}

// Addr returns the address the server listens on, with the port it bound.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops accepting connections, waits up to 5 seconds for requests in
// flight, and returns once the server has stopped. It is safe to call more
// than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := s.http.Shutdown(ctx); err != nil {
			s.closeErr = fmt.Errorf("ops: stop http server on %s: %w", s.Addr(), errors.Join(err, s.http.Close()))
		}
		<-s.served
		s.log.Info().Str("addr", s.Addr()).Msg("http server stopped")
	})
	return s.closeErr
}
