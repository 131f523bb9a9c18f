package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramBucketsAreContiguous(t *testing.T) {
	prevHi := uint64(0)
	for i := 1; i < histogramBuckets; i++ {
		lo, hi := bucketRange(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, want %d after the previous bucket", i, lo, prevHi+1)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d is [%d, %d], but bucketOf gives %d and %d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		if i >= linearBuckets && float64(hi-lo+1) > float64(lo)/subBuckets {
			t.Fatalf("bucket %d is [%d, %d], wider than 1/%d of its start", i, lo, hi, subBuckets)
		}
		prevHi = hi
	}
	if prevHi != math.MaxUint64 {
		t.Errorf("last bucket ends at %d, want MaxUint64", prevHi)
	}
}

func TestHistogramQuantilesWithinBucketError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h histogram
	values := make([]time.Duration, 10_000)
	for i := range values {
		values[i] = time.Duration(rng.ExpFloat64() * float64(20*time.Millisecond))
		h.record(values[i])
	}
	slices.Sort(values)

	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := values[int(math.Ceil(q*float64(len(values))))-1]
		got := h.quantile(q)
		if diff := math.Abs(float64(got - exact)); diff > float64(exact)/subBuckets+float64(time.Microsecond) {
			t.Errorf("quantile(%v) = %s, want %s within 1/%d", q, got, exact, subBuckets)
		}
	}
	if h.max != values[len(values)-1] || h.min != values[0] {
		t.Errorf("min, max = %s, %s, want %s, %s", h.min, h.max, values[0], values[len(values)-1])
	}
}

func TestHistogramSmallValuesExact(t *testing.T) {
	var h histogram
	for _, us := range []int{5, 7, 7, 9} {
		h.record(time.Duration(us) * time.Microsecond)
	}
	if got := h.quantile(0.5); got != 7*time.Microsecond {
		t.Errorf("quantile(0.5) = %s, want 7µs", got)
	}
	if got := h.quantile(1); got != 9*time.Microsecond {
		t.Errorf("quantile(1) = %s, want 9µs", got)
	}
}

func TestHistogramQuantileAtMostMax(t *testing.T) {
	var h histogram
	h.record(1000*time.Microsecond + 1)
	if got := h.quantile(0.99); got > h.max {
		t.Errorf("quantile(0.99) = %s, want at most max %s", got, h.max)
	}
	var empty histogram
	if got := empty.quantile(0.5); got != 0 {
		t.Errorf("empty quantile(0.5) = %s, want 0", got)
	}
}

func TestHistogramNegativeCountsAsZero(t *testing.T) {
	var h histogram
	h.record(-time.Second)
	if h.n != 1 || h.max != 0 || h.counts[0] != 1 {
		t.Errorf("after recording -1s: n %d, max %s, counts[0] %d, want 1, 0, 1", h.n, h.max, h.counts[0])
	}
}
