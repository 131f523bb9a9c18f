package embedded

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

func TestNATSPublishSubscribe(t *testing.T) {
	n := NATSForTest(t)
	nc, err := nats.Connect(n.ClientURL())
	if err != nil {
		t.Fatalf("connect to %s: %v", n.ClientURL(), err)
	}
	defer nc.Close()

	sub, err := nc.SubscribeSync("greetings.>")
	if err != nil {
		t.Fatal(err)
	}
	msg := nats.NewMsg("greetings.world")
	msg.Data = []byte("hello")
	msg.Header.Set("Greeting-Id", "1")
	if err := nc.PublishMsg(msg); err != nil {
		t.Fatal(err)
	}

	got, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if string(got.Data) != "hello" {
		t.Errorf("data is %q, expected %q", got.Data, "hello")
	}
	if v := got.Header.Get("Greeting-Id"); v != "1" {
		t.Errorf("Greeting-Id header is %q, expected %q", v, "1")
	}
}

func TestNATSRandomPortOnLoopback(t *testing.T) {
	n := NATSForTest(t)
	addr, ok := n.Server().Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("listener address %v is not TCP", n.Server().Addr())
	}
	if !addr.IP.IsLoopback() {
		t.Errorf("listens on %s, expected a loopback address", addr)
	}
	if addr.Port == 0 || addr.Port == 4222 {
		t.Errorf("listens on port %d, expected a random port", addr.Port)
	}
	if want := "nats://" + addr.String(); n.ClientURL() != want {
		t.Errorf("ClientURL is %s, expected %s", n.ClientURL(), want)
	}
}

func TestNATSJetStreamWithStoreDir(t *testing.T) {
	n, err := StartNATS(NATSOptions{Addr: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	nc, err := nats.Connect(n.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AccountInfo(); err != nil {
		t.Fatalf("JetStream account info with StoreDir set: %v", err)
	}
}

func TestStartNATSAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	start := time.Now()
	n, err := StartNATS(NATSOptions{Addr: ln.Addr().String()})
	if err == nil {
		n.Close()
		t.Fatalf("start on the taken address %s succeeded, expected an error", ln.Addr())
	}
	if elapsed := time.Since(start); elapsed > DefaultNATSReadyTimeout/2 {
		t.Errorf("error took %s, expected it before the ready timeout", elapsed)
	}
}

func TestNATSLogsThroughZerolog(t *testing.T) {
	var logs bytes.Buffer
	n, err := StartNATS(NATSOptions{Addr: "127.0.0.1:0", Log: zerolog.New(&logs).Level(zerolog.InfoLevel)})
	if err != nil {
		t.Fatal(err)
	}
	n.Close()

	if !strings.Contains(logs.String(), `"component":"nats-server"`) {
		t.Errorf("logs lack the server's lines:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), `"level":"debug"`) {
		t.Errorf("logs contain debug lines at info level:\n%s", logs.String())
	}
}

func TestNATSCloseTwice(t *testing.T) {
	n := NATSForTest(t)
	n.Close()
	n.Close()
	if n.Server().Running() {
		t.Error("server still running after Close")
	}
}
