package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gridsession/gridsession/internal/bench"
)

func TestBenchFlagErrorsNameTheSetting(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no source", []string{"--embedded"}, "--synthetic, or --files"},
		{"two sources", []string{"--synthetic", "--files", "a.csv"}, "--synthetic, or --files"},
		{"files without paths", []string{"--files"}, "at least one CSV file"},
		{"synthetic with a path", []string{"--synthetic", "a.csv"}, `"a.csv"`},
		{"negative rate", []string{"--synthetic", "--rate", "-5"}, "--rate"},
		{"no end", []string{"--synthetic", "--duration", "0"}, "never end"},
		{"negative events", []string{"--synthetic", "--events", "-1"}, "--events"},
		{"no open sessions", []string{"--synthetic", "--open-sessions", "0"}, "--open-sessions"},
		{"pid with embedded", []string{"--synthetic", "--embedded", "--worker-pid", "1"}, "--worker-pid"},
		{"bad partitions", []string{"--synthetic", "--embedded", "--partitions", "0"}, "--partitions"},
		{"bad tenant", []string{"--synthetic", "--tenant", "a.b"}, "tenant"},
		{"bad log level", []string{"--synthetic", "--log-level", "loud"}, "--log-level"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := runBench(context.Background(), c.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one naming %q", err, c.want)
			}
		})
	}
}

func TestBenchUnreachableBroker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	err := runBench(ctx, []string{"--synthetic", "--kafka", "127.0.0.1:1", "--quiet"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("error %v, want one naming the broker", err)
	}
}

func TestBenchEmbeddedJSON(t *testing.T) {
	var out bytes.Buffer
	args := []string{"--embedded", "--synthetic", "--rate", "200", "--duration", "2s", "--partitions", "2", "--json", "--quiet"}
	if err := runBench(context.Background(), args, &out); err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}

	var s bench.Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("output is not one JSON summary: %v\n%s", err, out.String())
	}
	if s.EventsSent == 0 || s.EventsFolded != s.EventsSent {
		t.Errorf("events_sent %d, events_folded %d, want equal and positive", s.EventsSent, s.EventsFolded)
	}
	if s.EventLatency.P50Ms > s.EventLatency.P99Ms || s.EventLatency.P99Ms > s.EventLatency.MaxMs {
		t.Errorf("event latency %+v, want p50 <= p99 <= max", s.EventLatency)
	}
	if s.MaxRSSBytes <= 0 || !strings.Contains(s.RSSOf, "this process") {
		t.Errorf("max_rss_bytes %d, rss_of %q, want this process's peak RSS", s.MaxRSSBytes, s.RSSOf)
	}
	if s.Partitions != 2 {
		t.Errorf("partitions %d, want 2", s.Partitions)
	}
}

func TestBenchTextSummary(t *testing.T) {
	var out bytes.Buffer
	args := []string{"--embedded", "--synthetic", "--events", "50", "--partitions", "1", "--state", "--quiet"}
	if err := runBench(context.Background(), args, &out); err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	for _, want := range []string{"events sent      50 ", "events folded    50 (0 missing", "sustained", "latency to event p50", "latency to state", "max RSS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}
