package ops_test

import (
	"net"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/ops"
)

func TestListenAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	_, err = ops.Listen(ln.Addr().String(), ops.NewMetrics(ingest.Topics{}), ops.NewReadiness(), zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("Listen on a used address: %v, want an error naming it", err)
	}
}

func TestServerCloseTwice(t *testing.T) {
	s, err := ops.Listen("127.0.0.1:0", ops.NewMetrics(ingest.Topics{}), ops.NewReadiness(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("first Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if conn, err := net.Dial("tcp", s.Addr()); err == nil {
		conn.Close()
		t.Error("server still accepts connections after Close")
	}
}
