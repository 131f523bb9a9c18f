package processor_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/processor"
)

// TestFailedKafkaCommitIsRetried fails every Kafka offset commit while a
// batch is applied, then lets them through with no new record arriving.
// The group's committed offsets must still catch up with Pebble's, or the
// lag that operators and rebalances read stays high for good.
func TestFailedKafkaCommitIsRetried(t *testing.T) {
	e := newEnv(t)
	var failing atomic.Bool
	failing.Store(true)
	e.start(func(w *processor.Worker) {
		w.SetCommitFault(func() error {
			if failing.Load() {
				return errors.New("injected commit failure")
			}
			return nil
		})
	})
	e.send(e.sessionRecord("t1", "a", "store-1"),
		e.event("a", map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": 1}))
	waitFor(t, 30*time.Second, "the records applied", func() bool { return e.appliedEvents() == 1 })

	lag := func() int64 {
		lags, err := ingest.Lag(context.Background(), []string{e.kafka.Addr()}, "test-session", e.topics.Inputs())
		if err != nil {
			return -1
		}
		var total int64
		for _, parts := range lags {
			for _, n := range parts {
				total += n
			}
		}
		return total
	}
	if n := lag(); n != 2 {
		t.Fatalf("lag %d while commits fail, want 2", n)
	}
	failing.Store(false)
	waitFor(t, 10*time.Second, "the group's offsets to catch up", func() bool { return lag() == 0 })
}
