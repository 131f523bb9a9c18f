package bench

import (
	"fmt"
	"io"
	"time"
)

// Summary is the result of a run. Its JSON form is what `gridsession bench
// --json` prints, with times in the unit that each name ends with.
type Summary struct {
	// Source is "synthetic" or "files".
	Source string `json:"source"`
	Tenant string `json:"tenant"`
	// Seed is the seed of the synthetic generator, 0 with files.
	Seed       uint64  `json:"seed,omitempty"`
	Partitions int     `json:"partitions"`
	TargetRate float64 `json:"target_rate"`

	// EventsSent, SessionsSent and ClientsSent count the records that
	// Kafka acknowledged.
	EventsSent   int64 `json:"events_sent"`
	SessionsSent int64 `json:"sessions_sent"`
	ClientsSent  int64 `json:"clients_sent"`
	// SendSeconds is the time from the first to the last Send of an event,
	// and SendRate EventsSent divided by it.
	SendSeconds float64 `json:"send_seconds"`
	SendRate    float64 `json:"send_rate"`

	// EventsFolded counts the sent events whose raw event arrived on NATS;
	// the worker publishes every event it folds. Missing is EventsSent
	// minus EventsFolded.
	EventsFolded int64 `json:"events_folded"`
	Missing      int64 `json:"missing"`
	// Duplicates counts repeated arrivals of an event, which at-least-once
	// delivery allows after a worker restart.
	Duplicates int64 `json:"duplicates"`
	// Dropped counts messages that the NATS client dropped because the
	// subscriber fell behind; it should be 0.
	Dropped int64 `json:"dropped"`
	// Seconds is the time from the first Send of an event to the arrival
	// of the last event folded, and EventsPerSecond EventsFolded divided
	// by it: the sustained rate of the whole pipeline.
	Seconds         float64 `json:"seconds"`
	EventsPerSecond float64 `json:"events_per_second"`

	// EventLatency is the time from the Send of an event to the arrival of
	// its raw event on the session's events subject.
	EventLatency Latency `json:"event_latency"`
	// StateLatency is the time from the Send of a CART_ADD event to the
	// arrival of the session's state message that follows it; nil unless
	// measured.
	StateLatency *Latency `json:"state_latency,omitempty"`

	// MaxRSSBytes is the peak resident set size of the process named by
	// RSSOf, and 0 when not measured.
	MaxRSSBytes int64  `json:"max_rss_bytes,omitempty"`
	RSSOf       string `json:"rss_of,omitempty"`
}

// Latency summarises the latencies of one kind of message.
type Latency struct {
	Count int64   `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

func newLatency(h *histogram) Latency {
	return Latency{
		Count: h.n,
		P50Ms: milliseconds(h.quantile(0.50)),
		P99Ms: milliseconds(h.quantile(0.99)),
		MaxMs: milliseconds(h.max),
	}
}

func milliseconds(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// WriteText writes the summary for people, one measure a line.
func (s Summary) WriteText(w io.Writer) error {
	target := "as fast as possible"
	if s.TargetRate > 0 {
		target = fmt.Sprintf("target %.0f/s", s.TargetRate)
	}
	lines := []string{
		fmt.Sprintf("source           %s, tenant %s, %d partitions", s.describeSource(), s.Tenant, s.Partitions),
		fmt.Sprintf("events sent      %d in %.2fs, %.0f/s (%s); with %d session and %d client records",
			s.EventsSent, s.SendSeconds, s.SendRate, target, s.SessionsSent, s.ClientsSent),
		fmt.Sprintf("events folded    %d (%d missing, %d duplicates, %d dropped by the subscriber)",
			s.EventsFolded, s.Missing, s.Duplicates, s.Dropped),
		fmt.Sprintf("duration         %.2fs from the first send to the last event received", s.Seconds),
		fmt.Sprintf("sustained        %.0f events/s folded", s.EventsPerSecond),
		"latency to event " + s.EventLatency.text(),
	}
	if s.StateLatency != nil {
		lines = append(lines, "latency to state "+s.StateLatency.text())
	}
	if s.MaxRSSBytes > 0 {
		lines = append(lines, fmt.Sprintf("max RSS          %.1f MiB, %s", float64(s.MaxRSSBytes)/(1<<20), s.RSSOf))
	}
	for _, line := range lines {
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

func (s Summary) describeSource() string {
	if s.Source == SourceSynthetic {
		return fmt.Sprintf("synthetic (seed %d)", s.Seed)
	}
	return s.Source
}

func (l Latency) text() string {
	return fmt.Sprintf("p50 %.1fms  p99 %.1fms  max %.1fms  (%d messages)", l.P50Ms, l.P99Ms, l.MaxMs, l.Count)
}
