package statestore

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestRateLimit(t *testing.T) {
	var r rateLimit
	start := time.Unix(1_000_000, 0)

	if ok, dropped := r.allow(start); !ok || dropped != 0 {
		t.Errorf("first event: allow = %v, %d; want true, 0", ok, dropped)
	}
	if ok, _ := r.allow(start.Add(time.Second)); ok {
		t.Error("event 1s after a logged one was allowed")
	}
	if ok, _ := r.allow(start.Add(warnInterval - time.Nanosecond)); ok {
		t.Error("event just inside warnInterval was allowed")
	}
	if ok, dropped := r.allow(start.Add(warnInterval)); !ok || dropped != 2 {
		t.Errorf("event after warnInterval: allow = %v, %d; want true, 2", ok, dropped)
	}
}

func TestPebbleLoggerLevels(t *testing.T) {
	var buf bytes.Buffer
	l := pebbleLogger{log: zerolog.New(&buf)}

	l.Infof("replayed %d WAL files", 2)
	l.Errorf("flush failed: %s", "disk full")

	var levels, messages []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var entry struct{ Level, Message string }
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		levels = append(levels, entry.Level)
		messages = append(messages, entry.Message)
	}
	if strings.Join(levels, ",") != "debug,error" {
		t.Errorf("levels = %v, want [debug error]", levels)
	}
	if strings.Join(messages, ",") != "replayed 2 WAL files,flush failed: disk full" {
		t.Errorf("messages = %q", messages)
	}
}

func TestPebbleLoggerFatalfPanics(t *testing.T) {
	l := pebbleLogger{} // a disabled logger must still stop the caller

	defer func() {
		recovered := recover()
		msg, _ := recovered.(string)
		if !strings.Contains(msg, "MANIFEST sync failed") {
			t.Errorf("Fatalf panic value = %v, want the message", recovered)
		}
	}()
	l.Fatalf("MANIFEST sync failed: %s", "EIO")
	t.Error("Fatalf returned")
}
