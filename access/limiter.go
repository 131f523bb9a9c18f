package access

import (
	"container/list"
	"sync"
	"time"
)

// failureLimiter counts failed checks per browser id in fixed windows that
// start at the first failure. It tracks at most maxIDs browser ids. When
// that many windows are open, a new failure evicts the oldest window, so a
// flood of made-up browser ids bounds memory but can end the lockout of a
// real one early. A failureLimiter is safe for concurrent use.
type failureLimiter struct {
	maxFailures int
	window      time.Duration
	maxIDs      int

	mu   sync.Mutex
	byID map[string]*list.Element
	// order holds the *failureWindow values by start, oldest first.
	order *list.List
}

type failureWindow struct {
	browserID string
	start     time.Time
	failures  int
}

func newFailureLimiter(maxFailures int, window time.Duration, maxIDs int) *failureLimiter {
	return &failureLimiter{
		maxFailures: maxFailures,
		window:      window,
		maxIDs:      maxIDs,
		byID:        map[string]*list.Element{},
		order:       list.New(),
	}
}

// blocked reports whether browserID has reached maxFailures in a window
// that is still open at now.
func (l *failureLimiter) blocked(browserID string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()

	elem := l.byID[browserID]
	if elem == nil {
		return false
	}
	w := elem.Value.(*failureWindow)
	if l.expired(w, now) {
		l.removeLocked(elem)
		return false
	}
	return w.failures >= l.maxFailures
}

// fail counts a failed check of browserID at now.
func (l *failureLimiter) fail(browserID string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()

	if elem := l.byID[browserID]; elem != nil {
		w := elem.Value.(*failureWindow)
		if !l.expired(w, now) {
			w.failures++
			return
		}
		l.removeLocked(elem)
	}
	l.evictLocked(now)
	w := &failureWindow{browserID: browserID, start: now, failures: 1}
	l.byID[browserID] = l.order.PushBack(w)
}

// reset deletes the failure window of browserID after a successful check.
func (l *failureLimiter) reset(browserID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if elem := l.byID[browserID]; elem != nil {
		l.removeLocked(elem)
	}
}

func (l *failureLimiter) expired(w *failureWindow, now time.Time) bool {
	return !now.Before(w.start.Add(l.window))
}

// evictLocked removes the expired windows, which are the oldest, and then
// the oldest open windows until there is room for one more. l.mu must be
// held.
func (l *failureLimiter) evictLocked(now time.Time) {
	for front := l.order.Front(); front != nil; front = l.order.Front() {
		if !l.expired(front.Value.(*failureWindow), now) && len(l.byID) < l.maxIDs {
			return
		}
		l.removeLocked(front)
	}
}

func (l *failureLimiter) removeLocked(elem *list.Element) {
	w := l.order.Remove(elem).(*failureWindow)
	delete(l.byID, w.browserID)
}
