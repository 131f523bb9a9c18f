package embedded

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// Defaults of NATSOptions.
const (
	DefaultNATSAddr         = "127.0.0.1:4222"
	DefaultNATSReadyTimeout = 10 * time.Second
)

// NATSOptions configures StartNATS. The zero value starts a server on
// DefaultNATSAddr without JetStream.
type NATSOptions struct {
	// Addr is the host and port to listen on; empty means
	// DefaultNATSAddr and port 0 picks a free port.
	Addr string

	// StoreDir enables JetStream with its storage in this directory.
	// Empty leaves JetStream off.
	StoreDir string

	// ReadyTimeout bounds the wait for the server to accept clients; zero
	// means DefaultNATSReadyTimeout.
	ReadyTimeout time.Duration

	// Log receives the server's log lines. The zero value logs nothing.
	Log zerolog.Logger
}

// NATS is a running NATS server.
type NATS struct {
	server    *server.Server
	clientURL string
	closeOnce sync.Once
}

// StartNATS starts a NATS server as opts describe and returns once it
// accepts clients. It returns an error when the address is invalid or taken
// or the server is not ready within opts.ReadyTimeout.
func StartNATS(opts NATSOptions) (*NATS, error) {
	addr := opts.Addr
	if addr == "" {
		addr = DefaultNATSAddr
	}
	host, port, err := splitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("embedded: nats address %q: %w", addr, err)
	}
	readyTimeout := opts.ReadyTimeout
	if readyTimeout == 0 {
		readyTimeout = DefaultNATSReadyTimeout
	}

	// The server reports a taken port only through its log and then never
	// becomes ready, so a quick listen turns that case into a clear error.
	if port != 0 {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("embedded: nats: %w", err)
		}
		ln.Close()
	}

	sopts := &server.Options{
		ServerName: "gridsession-embedded",
		Host:       host,
		Port:       port,
		NoLog:      true,
		NoSigs:     true,
		JetStream:  opts.StoreDir != "",
		StoreDir:   opts.StoreDir,
	}
	if port == 0 {
		sopts.Port = server.RANDOM_PORT
	}
	s, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("embedded: configure nats on %s: %w", addr, err)
	}
	if loggerEnabled(opts.Log) {
		s.SetLogger(natsLogger{opts.Log}, opts.Log.GetLevel() <= zerolog.DebugLevel, opts.Log.GetLevel() <= zerolog.TraceLevel)
	}

	s.Start()
	if !s.ReadyForConnections(readyTimeout) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, fmt.Errorf("embedded: nats on %s not ready for connections after %s", addr, readyTimeout)
	}
	return &NATS{server: s, clientURL: s.ClientURL()}, nil
}

// splitHostPort splits addr and parses its port.
func splitHostPort(addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("invalid port %q", portText)
	}
	return host, port, nil
}

// ClientURL returns the nats:// URL that clients connect to, with the port
// resolved when Options.Addr asked for port 0.
func (n *NATS) ClientURL() string { return n.clientURL }

// Server returns the underlying server, for tests that inspect it.
func (n *NATS) Server() *server.Server { return n.server }

// Close shuts the server down, disconnecting every client, and waits until
// it has stopped. It is safe to call more than once and from several
// goroutines.
func (n *NATS) Close() {
	n.closeOnce.Do(func() {
		n.server.Shutdown()
		n.server.WaitForShutdown()
	})
}
