package processor_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
)

// TestReplayExpiresWhatIsDue replays a cart and a rating with the clock 31
// minutes after them. The cart's 30 minutes have passed and the rating's
// 24 hours have not, so the replayed session must hold the rating alone,
// however quickly the replay ends.
func TestReplayExpiresWhatIsDue(t *testing.T) {
	e := newEnv(t)
	e.send(e.sessionRecord("t1", "a", "store-1"),
		e.event("a", map[string]any{"eventType": "CART_ADD", "productId": "p1", "int1": 2}),
		e.event("a", map[string]any{"eventType": "RATING", "int1": 4}))

	dir := filepath.Join(t.TempDir(), "replay")
	later := time.Date(2026, 1, 2, 10, 31, 0, 0, time.UTC)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := processor.Replay(ctx, processor.Config{
		Brokers:    []string{e.kafka.Addr()},
		Topics:     e.topics,
		DataDir:    dir,
		Projection: projection.Config{ContactKey: testKey},
		Clock:      func() time.Time { return later },
		Log:        testLogger(t),
	}, e.producer, nil)
	if err != nil {
		t.Fatal(err)
	}

	s := storedSessions(t, dir)["t1/a"]
	if s == nil {
		t.Fatal("the replay stored no session t1/a")
	}
	if len(s.Cart) > 0 {
		t.Errorf("cart %v still stored, 31 minutes after its last change", s.Cart)
	}
	if s.Rating == nil || s.Rating.Value != 4 {
		t.Errorf("rating %+v, want 4: it expires after 24 hours", s.Rating)
	}
}
