package bench

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gridsession/gridsession/publish"
)

// observer receives the session messages of a run's tenant from NATS and
// matches each raw event to its send time by captureId. It is safe for
// concurrent use.
type observer struct {
	// capturePrefix starts the captureId of every event of the run, and
	// probePrefix that of every probe event.
	capturePrefix string
	probePrefix   string
	sent          *sentTable
	// clock returns the time since the run's start.
	clock func() time.Duration
	// stateLatency makes the observer match state messages too.
	stateLatency bool

	mu             sync.Mutex
	eventLatencies histogram
	stateLatencies histogram
	folded         int64
	duplicates     int64
	lastObserved   time.Duration
	probes         map[string]bool
	// lastEvents holds, by session id, the send time of the session's
	// latest event when it is a CART_ADD, and whether its state message
	// has arrived. Only with stateLatency.
	lastEvents map[string]lastEvent
}

// lastEvent is the latest event observed of one session.
type lastEvent struct {
	sent         time.Duration
	stateArrived bool
}

func newObserver(runID string, sent *sentTable, clock func() time.Duration, stateLatency bool) *observer {
	return &observer{
		capturePrefix: capturePrefix(runID),
		probePrefix:   probePrefix(runID),
		sent:          sent,
		clock:         clock,
		stateLatency:  stateLatency,
		probes:        map[string]bool{},
		lastEvents:    map[string]lastEvent{},
	}
}

// capturePrefix starts the captureId of every event of run runID; the
// event's sequence number follows it.
func capturePrefix(runID string) string { return "bench-" + runID + "-" }

// probePrefix starts the captureId of every probe event of run runID.
func probePrefix(runID string) string { return "probe-" + runID + "-" }

// subscription returns the subject that the observer subscribes to: the
// events of every session of tenant and, with stateLatency, their state.
// One subscription for both keeps the order in which the worker published
// an event and the state message after it.
func (o *observer) subscription(subjects publish.Subjects, tenant string) string {
	stream := string(publish.StreamEvents)
	if o.stateLatency {
		stream = "*"
	}
	tenantPrefix := strings.TrimSuffix(subjects.Tenant(tenant), ">")
	return tenantPrefix + string(publish.KindSession) + ".*." + stream
}

// handle is the NATS message handler. nats.go calls it from one goroutine
// per subscription.
func (o *observer) handle(m *nats.Msg) {
	now := o.clock()
	if strings.HasSuffix(m.Subject, "."+string(publish.StreamState)) {
		o.handleState(m, now)
		return
	}

	capture := m.Header.Get(publish.HeaderCaptureID)
	if probe, ok := strings.CutPrefix(capture, o.probePrefix); ok {
		o.mu.Lock()
		o.probes[probe] = true
		o.mu.Unlock()
		return
	}
	seq := int64(-1)
	if rest, ok := strings.CutPrefix(capture, o.capturePrefix); ok {
		if n, err := strconv.ParseInt(rest, 10, 64); err == nil {
			seq = n
		}
	}
	sent, changesState, seen := o.sent.observe(seq)

	o.mu.Lock()
	defer o.mu.Unlock()
	switch seen {
	case observedUnknown:
		// An event of the tenant that this run did not send, such as
		// one of an earlier run with the same --tenant.
		return
	case observedAgain:
		o.duplicates++
		return
	}
	o.folded++
	o.eventLatencies.record(now - sent)
	o.lastObserved = max(o.lastObserved, now)
	if !o.stateLatency {
		return
	}
	session := m.Header.Get(publish.HeaderSession)
	if changesState {
		o.lastEvents[session] = lastEvent{sent: sent}
	} else {
		// The state message that may follow belongs to this event, not
		// to an earlier one.
		delete(o.lastEvents, session)
	}
}

// handleState records the latency of a state message from the send time of
// the latest event of its session, when that event is a CART_ADD whose
// state message has not arrived yet. The worker publishes an event's state
// message right after the event, so the match is exact. Other state
// messages are left out: those of events that may change nothing, such as
// removing a product that is not in the cart, and those of expiries.
func (o *observer) handleState(m *nats.Msg, now time.Duration) {
	session := m.Header.Get(publish.HeaderSession)
	o.mu.Lock()
	defer o.mu.Unlock()
	last, ok := o.lastEvents[session]
	if !ok || last.stateArrived {
		return
	}
	o.stateLatencies.record(now - last.sent)
	last.stateArrived = true
	o.lastEvents[session] = last
}

// foldedCount returns the number of sent events observed.
func (o *observer) foldedCount() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.folded
}

// probesObserved returns the number of distinct probe events observed.
func (o *observer) probesObserved() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.probes)
}
