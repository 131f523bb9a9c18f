package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/access"
	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/embedded"
)

var (
	browserIDLine = regexp.MustCompile(`browser id \(username\):\s+(\S+)`)
	accessKeyLine = regexp.MustCompile(`access key \(password\):\s+(\S+)`)
)

// runKeysCommand runs gridsession keys with args and returns what it
// printed.
func runKeysCommand(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := runKeys(ctx, args, &out)
	return out.String(), err
}

// startKeysRegistry starts a Registry for the default topic prefix on addr.
func startKeysRegistry(t *testing.T, addr string, log zerolog.Logger) *access.Registry {
	t.Helper()
	r := access.NewRegistry([]string{addr}, ingest.Topics{}, log)
	t.Cleanup(r.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := r.Start(ctx); err != nil {
		t.Fatalf("start registry: %v", err)
	}
	return r
}

func TestKeysCreateListRevoke(t *testing.T) {
	addr := embedded.KafkaForTest(t, nil, 1).Addr()

	out, err := runKeysCommand(t, "create", "--kafka", addr, "--tenant", "shop", "--space", "store-2", "--space", "store-3,store-1,store-2")
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	if !strings.Contains(out, "shown only this once") {
		t.Errorf("keys create output does not warn that the key is shown once:\n%s", out)
	}
	if !strings.Contains(out, "spaces store-1, store-2, store-3") {
		t.Errorf("keys create output does not name the spaces:\n%s", out)
	}
	idMatch, keyMatch := browserIDLine.FindStringSubmatch(out), accessKeyLine.FindStringSubmatch(out)
	if idMatch == nil || keyMatch == nil {
		t.Fatalf("keys create printed no browser id or access key:\n%s", out)
	}
	id, secret := idMatch[1], keyMatch[1]

	var logs bytes.Buffer
	r := startKeysRegistry(t, addr, zerolog.New(zerolog.SyncWriter(&logs)))
	ctx := context.Background()
	if err := r.Check(ctx, id, secret, "shop", "store-3"); err != nil {
		t.Errorf("check of the created key: %v", err)
	}
	if err := r.Check(ctx, id, secret, "shop", "store-4"); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("check of an unlisted space: %v, expected %v", err, access.ErrForbidden)
	}

	out, err = runKeysCommand(t, "list", "--kafka", addr)
	if err != nil {
		t.Fatalf("keys list: %v\n%s", err, out)
	}
	if !regexp.MustCompile(id + `\s+shop\s+store-1,store-2,store-3\s+\S+\s+-`).MatchString(out) {
		t.Errorf("keys list does not show the active key %s:\n%s", id, out)
	}
	assertNoSecretOutput(t, "keys list", out, secret)

	out, err = runKeysCommand(t, "revoke", "--kafka", addr, id)
	if err != nil {
		t.Fatalf("keys revoke: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Revoked access key "+id) {
		t.Errorf("keys revoke output does not confirm:\n%s", out)
	}
	assertNoSecretOutput(t, "keys revoke", out, secret)

	deadline := time.Now().Add(3 * time.Second)
	for r.Check(ctx, id, secret, "shop", "store-3") == nil {
		if time.Now().After(deadline) {
			t.Fatal("registry accepts the key 3s after keys revoke")
		}
		time.Sleep(10 * time.Millisecond)
	}

	out, err = runKeysCommand(t, "list", "--kafka", addr, "--json")
	if err != nil {
		t.Fatalf("keys list --json: %v\n%s", err, out)
	}
	assertNoSecretOutput(t, "keys list --json", out, secret)
	var listed map[string]any
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("keys list --json printed %q, expected one JSON line: %v", out, err)
	}
	if listed["browserId"] != id || listed["revoked"] != true || listed["revokedAt"] == nil {
		t.Errorf("keys list --json printed %v, expected key %s revoked", listed, id)
	}
	// Close waits for the registry's goroutines, so the log is complete
	// and no longer written.
	r.Close()
	assertNoSecretOutput(t, "registry log", logs.String(), secret)
}

// assertNoSecretOutput fails the test when out contains the secret or any
// argon2id hash.
func assertNoSecretOutput(t *testing.T, source, out, secret string) {
	t.Helper()
	if strings.Contains(out, secret) {
		t.Errorf("%s output contains the access key", source)
	}
	if strings.Contains(out, "argon2id") || strings.Contains(out, `"hash"`) {
		t.Errorf("%s output contains a hash:\n%s", source, out)
	}
}

func TestKeysCreateJSON(t *testing.T) {
	addr := embedded.KafkaForTest(t, nil, 1).Addr()
	out, err := runKeysCommand(t, "create", "--kafka", addr, "--tenant", "shop", "--json")
	if err != nil {
		t.Fatalf("keys create --json: %v\n%s", err, out)
	}
	var created struct {
		BrowserID string   `json:"browserId"`
		AccessKey string   `json:"accessKey"`
		TenantID  string   `json:"tenantId"`
		Spaces    []string `json:"spaces"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("keys create --json printed %q: %v", out, err)
	}
	if created.TenantID != "shop" || created.Spaces == nil || len(created.Spaces) != 0 {
		t.Errorf("keys create --json printed %+v, expected tenant shop and no spaces", created)
	}

	r := startKeysRegistry(t, addr, zerolog.Nop())
	if err := r.Check(context.Background(), created.BrowserID, created.AccessKey, "shop", "any-space"); err != nil {
		t.Errorf("check of the created key: %v", err)
	}
}

func TestKeysRevokeUnknownID(t *testing.T) {
	addr := embedded.KafkaForTest(t, nil, 1).Addr()
	_, err := runKeysCommand(t, "revoke", "--kafka", addr, "b-aaaaaaaaaaaaaaaaaaaa")
	if !errors.Is(err, access.ErrKeyNotFound) {
		t.Fatalf("revoke of an unknown id: %v, expected %v", err, access.ErrKeyNotFound)
	}
	if !strings.Contains(err.Error(), "b-aaaaaaaaaaaaaaaaaaaa") {
		t.Errorf("error %q does not name the browser id", err)
	}
}

func TestKeysListEmpty(t *testing.T) {
	addr := embedded.KafkaForTest(t, nil, 1).Addr()
	out, err := runKeysCommand(t, "list", "--kafka", addr)
	if err != nil {
		t.Fatalf("keys list: %v", err)
	}
	if !strings.Contains(out, "no access keys") {
		t.Errorf("keys list on an empty topic printed %q", out)
	}
}

func TestKeysRejectInvalidArguments(t *testing.T) {
	closed := closedAddr(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing tenant", []string{"create", "--kafka", closed}, "--tenant is required"},
		{"tenant with dot", []string{"create", "--kafka", closed, "--tenant", "a.b"}, `invalid --tenant "a.b": must not contain '.'`},
		{"space with space", []string{"create", "--kafka", closed, "--tenant", "shop", "--space", "store 1"}, `invalid --space "store 1"`},
		{"revoke without id", []string{"revoke", "--kafka", closed}, "expected one browser id"},
		{"revoke two ids", []string{"revoke", "--kafka", closed, "b-1", "b-2"}, "expected one browser id"},
		{"list with argument", []string{"list", "extra"}, "takes only flags"},
		{"zero timeout", []string{"list", "--kafka", closed, "--timeout", "0s"}, "invalid --timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := runKeysCommand(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("keys %q: error %v, expected one containing %q", c.args, err, c.want)
			}
		})
	}
}

func TestKeysUnreachableBroker(t *testing.T) {
	closed := closedAddr(t)
	for _, args := range [][]string{
		{"create", "--kafka", closed, "--tenant", "shop"},
		{"list", "--kafka", closed},
		{"revoke", "--kafka", closed, "b-aaaaaaaaaaaaaaaaaaaa"},
	} {
		started := time.Now()
		_, err := runKeysCommand(t, args...)
		if err == nil || !strings.Contains(err.Error(), "no Kafka broker reachable at ["+closed+"]") {
			t.Errorf("keys %q: error %v, expected one naming the unreachable broker", args, err)
		}
		if took := time.Since(started); took > keysConnectTimeout+time.Second {
			t.Errorf("keys %q took %s to fail", args, took)
		}
	}
}

func TestKeysUsage(t *testing.T) {
	out, err := runKeysCommand(t)
	if !errors.Is(err, errUsage) || !strings.Contains(out, "Usage: gridsession keys COMMAND") {
		t.Errorf("keys without a command: error %v, output %q", err, out)
	}
	out, err = runKeysCommand(t, "rotate")
	if !errors.Is(err, errUsage) || !strings.Contains(out, `unknown keys command "rotate"`) {
		t.Errorf("keys rotate: error %v, output %q", err, out)
	}
	_, err = runKeysCommand(t, "help")
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("keys help: error %v, expected flag.ErrHelp", err)
	}
}

// closedAddr returns a loopback address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
