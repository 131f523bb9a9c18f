package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

var natsLine = regexp.MustCompile(`NATS: +(\S+)`)

// apiServers are the addresses of a running dev command.
type apiServers struct {
	kafka, nats string
}

// startAPIDev runs the dev command on random loopback ports until the test
// ends and returns the addresses it printed.
func startAPIDev(t *testing.T) apiServers {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runDev(ctx, []string{"--data-dir", t.TempDir(), "--kafka-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
			"--partitions", "4", "--http", "127.0.0.1:0", "--log-level", "warn"}, out)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("dev: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("dev did not stop within 60s")
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for !kafkaLine.MatchString(out.String()) || !natsLine.MatchString(out.String()) {
		select {
		case err := <-done:
			t.Fatalf("dev stopped early: %v\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev printed no Kafka and NATS addresses within 30s:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return apiServers{kafka: kafkaLine.FindStringSubmatch(out.String())[1], nats: natsLine.FindStringSubmatch(out.String())[1]}
}

// args returns the flags that point a command at the servers, for tenant
// shop, followed by more.
func (s apiServers) args(more ...string) []string {
	return append([]string{"--kafka", s.kafka, "--nats", s.nats, "--tenant", "shop"}, more...)
}

// runAPI runs one of the commands send, get and watch and returns what it
// printed to stdout.
func runAPI(t *testing.T, run func(context.Context, []string, *bytes.Buffer) error, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, args, &out)
	return out.String(), err
}

func sendCmd(ctx context.Context, args []string, out *bytes.Buffer) error {
	return runSend(ctx, args, out)
}
func getCmd(ctx context.Context, args []string, out *bytes.Buffer) error {
	return runGet(ctx, args, out)
}
func watchCmd(ctx context.Context, args []string, out *bytes.Buffer) error {
	return runWatch(ctx, args, out)
}

// pollGet runs get until its output is want, and fails the test after 30
// seconds.
func pollGet(t *testing.T, want string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := runAPI(t, getCmd, args...)
		if err == nil && out == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("get %v printed %q (error %v), expected %q", args, out, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// createKey runs keys create for tenant shop and returns the browser id and
// the access key.
func createKey(t *testing.T, kafka string) (string, string) {
	t.Helper()
	out, err := runKeysCommand(t, "create", "--kafka", kafka, "--tenant", "shop", "--json")
	if err != nil {
		t.Fatalf("keys create: %v", err)
	}
	var key createdKey
	if err := json.Unmarshal([]byte(out), &key); err != nil {
		t.Fatalf("keys create --json printed %q: %v", out, err)
	}
	return key.BrowserID, key.AccessKey
}

func TestAPICommandsRoundTrip(t *testing.T) {
	s := startAPIDev(t)

	out, err := runAPI(t, sendCmd, append([]string{"session"}, s.args("--session", "s1", "--client", "c1", "--space", "store-1", "--country", "DE", "--created", "2026-12-04T10:00:00Z")...)...)
	if err != nil {
		t.Fatalf("send session: %v", err)
	}
	var session map[string]any
	if err := json.Unmarshal([]byte(out), &session); err != nil {
		t.Fatalf("send session printed %q, expected the record as JSON: %v", out, err)
	}
	if session["spaceId"] != "store-1" || session["tenantId"] != "shop" || session["dataResidency"] != "EU" || session["installationId"] != "c1" {
		t.Errorf("send session printed %s", out)
	}

	// watch prints each state change once the subscription is in place.
	watchErr := &syncBuffer{}
	oldStderr := stderr
	stderr = watchErr
	defer func() { stderr = oldStderr }()
	watched := make(chan string, 1)
	go func() {
		out, err := runAPI(t, watchCmd, append([]string{"session", "state"}, s.args("--session", "s1", "--count", "2")...)...)
		if err != nil {
			t.Errorf("watch: %v", err)
		}
		watched <- out
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(watchErr.String(), "watching gridsession.shop.session.s1.state") {
		if time.Now().After(deadline) {
			t.Fatalf("watch did not start within 30s: %s", watchErr)
		}
		time.Sleep(20 * time.Millisecond)
	}

	now := time.Now().UTC().Format(time.RFC3339)
	if _, err := runAPI(t, sendCmd, append([]string{"event"}, s.args("--session", "s1", "--client", "c1", "--type", "CART_ADD", "--product", "p1", "--int1", "2", "--time", now)...)...); err != nil {
		t.Fatalf("send event: %v", err)
	}
	defer func(old io.Reader) { stdin = old }(stdin)
	stdin = strings.NewReader(`{"sessionId":"s1","clientId":"c1","eventTime":"` + now + `","eventType":"SEARCH","str1":"shoes"}` + "\n" +
		`{"sessionId":"s1","clientId":"c1","eventTime":"` + now + `","eventType":"RATING","int1":4}`)
	out, err = runAPI(t, sendCmd, append([]string{"event"}, s.args("-")...)...)
	if err != nil {
		t.Fatalf("send event - with two records: %v", err)
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("send event - printed %d lines, expected one per record:\n%s", n, out)
	}

	select {
	case got := <-watched:
		want := `{"CART":{"p1":2},"SEARCH":[]}` + "\n" + `{"CART":{"p1":2},"SEARCH":["shoes"]}` + "\n"
		if got != want {
			t.Errorf("watch printed\n%s\nexpected\n%s", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("watch --count 2 did not end within 30s")
	}

	pollGet(t, `{"session":{"CART":{"p1":2},"SEARCH":["shoes"]}}`+"\n", append([]string{"session"}, s.args("--session", "s1")...)...)

	user, password := createKey(t, s.kafka)
	t.Setenv("GRIDSESSION_USERNAME", user)
	t.Setenv("GRIDSESSION_PASSWORD", password)
	// The worker learns of a new key by following the keys topic, so the
	// first gets may come before it and be rejected.
	deadline = time.Now().Add(30 * time.Second)
	for {
		out, err = runAPI(t, getCmd, append([]string{"space"}, s.args("--session", "s1")...)...)
		if err == nil || !strings.Contains(err.Error(), "401") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("get space: %v", err)
	}
	if !strings.HasPrefix(out, `{"CART":{"p1":{"quantity":2,"contacts":1}},"RATING":{"type":"number","value":{"min":4,"max":4,"mean":4,"length":1}`) {
		t.Errorf("get space printed %s", out)
	}
	out, err = runAPI(t, getCmd, append([]string{"rows"}, s.args("--space", "store-1")...)...)
	if err != nil {
		t.Fatalf("get rows: %v", err)
	}
	if !strings.Contains(out, `"CART":{"s1":{`) || !strings.Contains(out, `"RATING":{"s1":{"value":4`) {
		t.Errorf("get rows printed %s", out)
	}

	_, err = runAPI(t, getCmd, append([]string{"rows"}, s.args("--space", "store-1", "--password", "wrong")...)...)
	if err == nil || !strings.Contains(err.Error(), "invalid browser id or access key: check --username and --password") {
		t.Errorf("get rows with a wrong key: %v, expected an error that names the flags", err)
	}
}

func TestAPICommandErrors(t *testing.T) {
	s := startAPIDev(t)

	_, err := runAPI(t, sendCmd, append([]string{"event"}, s.args("--session", "s1", "--client", "c1", "--type", "CART_ADD")...)...)
	if err == nil || !strings.Contains(err.Error(), "productId") {
		t.Errorf("send of an event without its productId: %v, expected an error naming productId", err)
	}
	defer func(old io.Reader) { stdin = old }(stdin)
	stdin = strings.NewReader(`{"sessionId":"s1"} not json`)
	_, err = runAPI(t, sendCmd, append([]string{"event"}, s.args("-")...)...)
	if err == nil || !strings.Contains(err.Error(), "record 1 on stdin") {
		t.Errorf("send of an invalid record on stdin: %v, expected an error naming record 1", err)
	}
	_, err = runAPI(t, sendCmd, append([]string{"event"}, s.args("--session", "s1", "-")...)...)
	if err == nil || !strings.Contains(err.Error(), "--session cannot be combined") {
		t.Errorf("send with flags and '-': %v", err)
	}

	_, err = runAPI(t, getCmd, append([]string{"session"}, s.args("--session", "s1", "--subject-prefix", "nobody", "--timeout", "500ms")...)...)
	if err == nil || !strings.Contains(err.Error(), "timed out after --timeout 500ms") {
		t.Errorf("get without a worker: %v, expected a timeout naming --timeout", err)
	}
	t.Setenv("GRIDSESSION_USERNAME", "")
	t.Setenv("GRIDSESSION_PASSWORD", "")
	_, err = runAPI(t, getCmd, append([]string{"space"}, s.args("--session", "s1")...)...)
	if err == nil || !strings.Contains(err.Error(), "GRIDSESSION_PASSWORD") {
		t.Errorf("get space without a key: %v, expected an error naming the variables", err)
	}
	_, err = runAPI(t, watchCmd, append([]string{"space", "events"}, s.args("--space", "store-1", "--username", "b-unknown", "--password", "x")...)...)
	if err == nil || !strings.Contains(err.Error(), "invalid browser id or access key") {
		t.Errorf("watch space with an unknown key: %v", err)
	}
}

func TestAPICommandUsage(t *testing.T) {
	tests := []struct {
		name string
		run  func(context.Context, []string, *bytes.Buffer) error
		args []string
		want string
	}{
		{"send without kind", sendCmd, nil, ""},
		{"send unknown kind", sendCmd, []string{"order"}, ""},
		{"get unknown kind", getCmd, []string{"cart"}, ""},
		{"watch without stream", watchCmd, []string{"session"}, ""},
		{"watch unknown stream", watchCmd, []string{"session", "changes"}, ""},
		{"get session without id", getCmd, []string{"session"}, "needs --session"},
		{"get space with both ids", getCmd, []string{"space", "--session", "a", "--space", "b"}, "not both"},
		{"watch without id", watchCmd, []string{"space", "state"}, "needs --space"},
		{"watch negative count", watchCmd, []string{"session", "state", "--session", "s", "--count", "-1"}, "invalid --count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runAPI(t, tt.run, tt.args...)
			if tt.want == "" {
				if !errors.Is(err, errUsage) {
					t.Errorf("error %v, expected the usage error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, expected one containing %q", err, tt.want)
			}
		})
	}
}

// TestSendValidatesBeforeConnecting sends an invalid event to an address
// where no broker listens: the error must name the invalid field, not the
// unreachable broker.
func TestSendValidatesBeforeConnecting(t *testing.T) {
	_, err := runAPI(t, sendCmd, "event", "--kafka", "127.0.0.1:1", "--timeout", "2s",
		"--session", "s.1", "--client", "c1", "--type", "CART_ADD", "--product", "p1")
	if err == nil || !strings.Contains(err.Error(), `sessionId "s.1"`) {
		t.Errorf("send of an invalid event with no broker: %v, expected an error naming sessionId", err)
	}
}
