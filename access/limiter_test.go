package access

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestLimiterBlocksAfterMaxFailures(t *testing.T) {
	l := newFailureLimiter(3, time.Minute, 100)
	for i := range 3 {
		if l.blocked("b-1", t0) {
			t.Fatalf("blocked after %d failures, expected after 3", i)
		}
		l.fail("b-1", t0.Add(time.Duration(i)*time.Second))
	}
	if !l.blocked("b-1", t0.Add(59*time.Second)) {
		t.Error("not blocked after 3 failures within the window")
	}
	if l.blocked("b-2", t0) {
		t.Error("another browser id is blocked")
	}
	if l.blocked("b-1", t0.Add(time.Minute)) {
		t.Error("still blocked when the window has passed")
	}
}

func TestLimiterResetForgetsFailures(t *testing.T) {
	l := newFailureLimiter(2, time.Minute, 100)
	l.fail("b-1", t0)
	l.reset("b-1")
	l.fail("b-1", t0)
	if l.blocked("b-1", t0) {
		t.Error("blocked after a reset and one failure, expected 2 failures to block")
	}
}

func TestLimiterNewWindowAfterExpiry(t *testing.T) {
	l := newFailureLimiter(2, time.Minute, 100)
	l.fail("b-1", t0)
	l.fail("b-1", t0.Add(time.Minute))
	if l.blocked("b-1", t0.Add(time.Minute)) {
		t.Error("a failure in an expired window counts toward the new one")
	}
}

func TestLimiterBoundsTrackedIDs(t *testing.T) {
	l := newFailureLimiter(1, time.Minute, 10)
	for i := range 25 {
		l.fail(fmt.Sprintf("b-%d", i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(l.byID); n > 10 {
		t.Fatalf("limiter tracks %d browser ids, expected at most 10", n)
	}
	if !l.blocked("b-24", t0) {
		t.Error("the newest browser id is not blocked")
	}
	if l.blocked("b-0", t0) {
		t.Error("the oldest browser id is still tracked")
	}

	// Expired windows go first.
	l.fail("b-late", t0.Add(2*time.Minute))
	if n := len(l.byID); n != 1 {
		t.Errorf("limiter tracks %d browser ids after expired windows were swept, expected 1", n)
	}
}
