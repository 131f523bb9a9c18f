package bench

import (
	"testing"
	"time"
)

func TestSentTableObservesOnce(t *testing.T) {
	var table sentTable
	table.markSent(0, 0, false)
	table.markSent(70_000, 5*time.Millisecond, true)

	for _, tc := range []struct {
		seq       int64
		wantSent  time.Duration
		wantState bool
		want      observation
	}{
		{0, 0, false, observedFirst},
		{0, 0, false, observedAgain},
		{70_000, 5 * time.Millisecond, true, observedFirst},
		{1, 0, false, observedUnknown},
		{-1, 0, false, observedUnknown},
		{1 << 40, 0, false, observedUnknown},
	} {
		sent, changesState, got := table.observe(tc.seq)
		if got != tc.want || sent != tc.wantSent || changesState != tc.wantState {
			t.Errorf("observe(%d) = %s, %v, %d, want %s, %v, %d", tc.seq, sent, changesState, got, tc.wantSent, tc.wantState, tc.want)
		}
	}
}
