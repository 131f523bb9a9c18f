package bench

import (
	"math"
	"math/bits"
	"time"
)

// Layout of the histogram buckets, in whole microseconds. Values below
// linearBuckets get a bucket each. Above that, the values of each bit length
// are split into subBuckets buckets of equal width, so a bucket is at most
// 1/64 (1.6%) as wide as its lower bound.
const (
	linearBuckets = 128
	subBuckets    = 64
	// histogramBuckets covers every uint64, because the bit lengths 8 to
	// 64 give 57 groups of subBuckets buckets.
	histogramBuckets = linearBuckets + (64-7)*subBuckets
)

// histogram counts latencies in log-linear buckets, so that its memory stays
// fixed however many events a run sends. Quantiles are exact to the
// microsecond below 128 µs and within 1.6% above. It is not safe for
// concurrent use.
type histogram struct {
	counts [histogramBuckets]int64
	n      int64
	min    time.Duration
	max    time.Duration
}

// record counts one latency. A negative latency counts as zero.
func (h *histogram) record(d time.Duration) {
	d = max(d, 0)
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.counts[bucketOf(uint64(d/time.Microsecond))]++
}

// bucketOf returns the bucket of a latency of us microseconds.
func bucketOf(us uint64) int {
	if us < linearBuckets {
		return int(us)
	}
	// Keep the top 7 bits: the leading 1 and 6 bits below it.
	shift := bits.Len64(us) - 7
	mantissa := int(us >> shift)
	return linearBuckets + (shift-1)*subBuckets + mantissa - subBuckets
}

// bucketRange returns the smallest and largest microsecond values of bucket
// i.
func bucketRange(i int) (lo, hi uint64) {
	if i < linearBuckets {
		return uint64(i), uint64(i)
	}
	k := i - linearBuckets
	shift := k/subBuckets + 1
	mantissa := uint64(k%subBuckets + subBuckets)
	return mantissa << shift, (mantissa+1)<<shift - 1
}

// quantile returns the latency below which the fraction q of the recorded
// latencies lie, as the middle of its bucket, kept within the recorded
// minimum and maximum. It returns 0 when nothing was recorded.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	// The nearest-rank method: the smallest value with at least q*n
	// values at or below it.
	rank := int64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)

	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen < rank {
			continue
		}
		lo, hi := bucketRange(i)
		mid := time.Duration(lo+(hi-lo)/2) * time.Microsecond
		return min(max(mid, h.min), h.max)
	}
	return h.max
}
