package processor_test

import (
	"context"
	"fmt"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/publish"
)

// TestTwoWorkersShareAndHandOver runs two workers in one group: each
// session's records must all reach one worker, and when one leaves the
// other takes its partitions over and folds the same state.
func TestTwoWorkersShareAndHandOver(t *testing.T) {
	e := newEnv(t)
	second := t.TempDir()

	var a, b struct {
		cancel context.CancelFunc
		done   chan error
	}
	// owned counts the session-stage partitions each worker owns now.
	var owned [2]atomic.Int64
	run := func(dataDir string, worker int) (context.CancelFunc, chan error) {
		w, err := processor.New(processor.Config{
			Brokers:    []string{e.kafka.Addr()},
			GroupID:    "test-two",
			Topics:     e.topics,
			Subjects:   e.subjects,
			DataDir:    dataDir,
			Projection: projection.Config{ContactKey: testKey},
			NoSync:     true,
			Clock:      testClock,
			Log:        testLogger(t),
			Hooks: processor.Hooks{
				OnBatch: func(s processor.BatchStats) {
					e.events.Add(int64(s.Applied[e.topics.Events()]))
				},
				OnAssigned: func(stage string, _, _ int) {
					if stage == "session" {
						owned[worker].Add(1)
					}
				},
				OnRevoked: func(stage string, _, _ int) {
					if stage == "session" {
						owned[worker].Add(-1)
					}
				},
			},
		}, publish.New(e.nc), e.producer)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		return cancel, done
	}
	stop := func(cancel context.CancelFunc, done chan error) {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("worker: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("worker did not stop")
		}
	}

	a.cancel, a.done = run(e.dataDir, 0)
	b.cancel, b.done = run(second, 1)
	waitFor(t, 60*time.Second, "both workers to own partitions", func() bool {
		return owned[0].Load() > 0 && owned[1].Load() > 0 && owned[0].Load()+owned[1].Load() == testPartitions
	})

	const sessions = 40
	var msgs []kafka.Message
	for i := range sessions {
		s := fmt.Sprintf("s%02d", i)
		msgs = append(msgs, e.sessionRecord("t1", s, "store-1"))
		for j := range 3 {
			msgs = append(msgs, e.event(s, map[string]any{"eventType": "CART_ADD", "productId": fmt.Sprintf("p%d", j), "int1": i + 1}))
		}
	}
	e.send(msgs...)
	waitFor(t, 60*time.Second, "all events folded", func() bool { return e.appliedEvents() >= sessions*3 })

	// B leaves; A takes its partitions over. More events for every
	// session then go to A only.
	stop(b.cancel, b.done)
	msgs = msgs[:0]
	for i := range sessions {
		msgs = append(msgs, e.event(fmt.Sprintf("s%02d", i), map[string]any{"eventType": "CART_REMOVE", "productId": "p0"}))
	}
	e.send(msgs...)
	// A refolds B's partitions from the start, so a count of folded
	// events proves nothing here; wait until A committed every record.
	waitFor(t, 60*time.Second, "the remaining worker to catch up", func() bool {
		lag, err := ingest.Lag(context.Background(), []string{e.kafka.Addr()}, "test-two", e.topics.Inputs())
		if err != nil {
			return false
		}
		for _, parts := range lag {
			for _, n := range parts {
				if n > 0 {
					return false
				}
			}
		}
		return true
	})
	stop(a.cancel, a.done)

	fromA := storedSessions(t, e.dataDir)
	fromB := storedSessions(t, second)
	if len(fromB) == 0 || len(fromB) == sessions {
		t.Errorf("worker B held %d of %d sessions; both should have had a share", len(fromB), sessions)
	}
	for i := range sessions {
		key := fmt.Sprintf("t1/s%02d", i)
		s := fromA[key]
		if s == nil {
			t.Errorf("%s missing from the remaining worker", key)
			continue
		}
		want := map[string]int64{"p1": int64(i + 1), "p2": int64(i + 1)}
		if got := s.View().Cart; !maps.Equal(got, want) {
			t.Errorf("%s cart %v, want %v", key, got, want)
		}
		if !s.Known || s.SpaceID != "store-1" {
			t.Errorf("%s lost its session record in the handover", key)
		}
	}
}
