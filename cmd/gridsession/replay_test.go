package main

import (
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestReplayConfigTakesFlags checks that the settings a replay's help
// offers reach the replay: the frozen clock, which backfills use to decide
// what has expired, and the batch size.
func TestReplayConfigTakesFlags(t *testing.T) {
	fs := newFlagSet("replay", "replay", io.Discard)
	var f workerFlags
	f.register(fs, useReplay)
	if err := parseFlags(fs, []string{"--data-dir", t.TempDir(), "--clock", "2019-10-01T12:00:00Z", "--batch-size", "700"}); err != nil {
		t.Fatal(err)
	}
	cfg := replayConfig(&f, []byte("0123456789abcdef"), time.Time{}, zerolog.Nop())
	if cfg.Clock == nil {
		t.Fatal("the replay runs on the wall clock despite --clock")
	}
	if got, want := cfg.Clock(), time.Date(2019, 10, 1, 12, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("replay clock reads %s, want %s", got, want)
	}
	if cfg.BatchSize != 700 {
		t.Errorf("replay batch size %d, want 700", cfg.BatchSize)
	}
}

// TestReplayHasNoWorkerOnlyFlags checks that replay does not offer flags it
// would ignore: it publishes nothing and uses consumer groups of its own.
func TestReplayHasNoWorkerOnlyFlags(t *testing.T) {
	fs := newFlagSet("replay", "replay", io.Discard)
	var f workerFlags
	f.register(fs, useReplay)
	for _, name := range []string{"nats", "subject-prefix", "group", "space-group"} {
		if fs.Lookup(name) != nil {
			t.Errorf("replay offers --%s, which it ignores", name)
		}
	}
}
