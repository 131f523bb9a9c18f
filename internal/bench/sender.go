package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/schemas"
)

// Lanes of the sender.
const (
	// laneCount is the number of Producer.Send calls in flight. A Send
	// returns when Kafka has acknowledged its messages, which takes at
	// least the producer's batch timeout of 5 ms unless a batch fills, so a
	// single lane would leave the producer idle most of the time.
	laneCount = 8
	// laneBatch is the maximum number of messages a lane passes to one
	// Send, the producer's batch size.
	laneBatch = 1000
)

// errRunEnd is returned by emit when the run has sent all it may. The
// source returns it, and Run treats it as the normal end.
var errRunEnd = errors.New("bench: run ended")

// outgoing is one message for a lane. seq is the event's sequence number,
// or -1 for a client or session record.
type outgoing struct {
	msg kafka.Message
	seq int64
	// changesState is set for a CART_ADD event, the one kind of event that
	// always changes the session state, so that its state message can be
	// matched to it.
	changesState bool
}

// sender paces the records of a source, gives each event its captureId and
// hands the records to the producer through laneCount lanes. The session
// record and the events of a session take the lane of the session id, and a
// client record that of the client id. A lane makes one Send at a time, so
// the records of a session reach Kafka in the order the source emitted
// them.
type sender struct {
	producer *ingest.Producer
	topics   ingest.Topics
	sent     *sentTable
	// clock returns the time since the run's start.
	clock func() time.Duration

	capturePrefix string
	rate          float64
	duration      time.Duration
	maxEvents     int64

	lanes [laneCount]chan outgoing
	seed  maphash.Seed
	// start is the time of the first emitted event; set by the
	// generator's goroutine before it hands anything to a lane.
	start time.Duration
	// next is the sequence number of the next event.
	next int64

	// Counts of the records that Kafka acknowledged.
	events   atomic.Int64
	sessions atomic.Int64
	clients  atomic.Int64

	mu sync.Mutex
	// firstSend and lastSend are the times of the first and the latest
	// Send of an event that Kafka acknowledged; anySend is set after the
	// first.
	firstSend time.Duration
	lastSend  time.Duration
	anySend   bool
}

func newSender(producer *ingest.Producer, topics ingest.Topics, sent *sentTable, clock func() time.Duration, runID string, cfg Config) *sender {
	s := &sender{
		producer:      producer,
		topics:        topics,
		sent:          sent,
		clock:         clock,
		capturePrefix: capturePrefix(runID),
		rate:          cfg.Rate,
		duration:      cfg.Duration,
		maxEvents:     cfg.MaxEvents,
		seed:          maphash.MakeSeed(),
	}
	for i := range s.lanes {
		s.lanes[i] = make(chan outgoing, laneBatch)
	}
	return s
}

// generate runs src until the run's limits end it, then closes the lanes.
// It returns nil when a limit ended the run.
func (s *sender) generate(ctx context.Context, src source) error {
	defer func() {
		for _, lane := range s.lanes {
			close(lane)
		}
	}()
	s.start = s.clock()
	err := src.run(ctx, func(r record) error { return s.emit(ctx, r) })
	if errors.Is(err, errRunEnd) {
		return nil
	}
	return err
}

// emit paces an event to the target rate, gives it its captureId, and
// passes any record to the lane of its session. It returns errRunEnd when
// the event would pass the run's event limit or duration.
func (s *sender) emit(ctx context.Context, r record) error {
	var (
		msg          kafka.Message
		route        string
		seq          int64 = -1
		changesState bool
		value        any
	)
	switch {
	case r.client != nil:
		msg.Topic, route, value = s.topics.Clients(), r.client.ClientID, r.client
		msg.Key = []byte(r.client.ClientID)
	case r.session != nil:
		msg.Topic, route, value = s.topics.Sessions(), r.session.SessionID, r.session
		msg.Key = []byte(r.session.SessionID)
	case r.event != nil:
		if err := s.pace(ctx); err != nil {
			return err
		}
		seq = s.next
		s.next++
		r.event.CaptureID = s.capturePrefix + strconv.FormatInt(seq, 10)
		msg.Topic, route, value = s.topics.Events(), r.event.SessionID, r.event
		msg.Key = []byte(r.event.SessionID)
		changesState = r.event.EventType == schemas.EventCartAdd
	default:
		return errors.New("bench: empty record")
	}

	b, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("bench: encode record %s: %w", msg.Key, err)
	}
	msg.Value = b

	lane := s.lanes[maphash.String(s.seed, route)%laneCount]
	select {
	case lane <- outgoing{msg: msg, seq: seq, changesState: changesState}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pace returns errRunEnd when the next event would pass a limit, and
// otherwise waits until the event is due at the target rate.
func (s *sender) pace(ctx context.Context) error {
	if s.maxEvents > 0 && s.next >= s.maxEvents {
		return errRunEnd
	}
	elapsed := s.clock() - s.start
	if s.duration > 0 && elapsed >= s.duration {
		return errRunEnd
	}
	if s.rate == 0 {
		return nil
	}

	due := time.Duration(float64(s.next) / s.rate * float64(time.Second))
	if s.duration > 0 && due >= s.duration {
		return errRunEnd
	}
	// Waits shorter than a millisecond are left to build up, because a
	// timer cannot wait that precisely.
	wait := due - elapsed
	if wait < time.Millisecond {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runLane sends the messages of one lane until the lane is closed. Each
// Send takes every message waiting in the lane, up to laneBatch, and their
// events are stamped as sent just before it.
func (s *sender) runLane(ctx context.Context, lane <-chan outgoing) error {
	batch := make([]outgoing, 0, laneBatch)
	for first := range lane {
		batch = append(batch[:0], first)
		batch = drainLane(lane, batch)

		msgs := make([]kafka.Message, len(batch))
		now := s.clock()
		for i, o := range batch {
			msgs[i] = o.msg
			if o.seq >= 0 {
				s.sent.markSent(o.seq, now, o.changesState)
			}
		}
		if err := s.producer.Send(ctx, msgs...); err != nil {
			return err
		}
		s.count(batch, now)
	}
	return nil
}

// drainLane appends the messages waiting in lane to batch, up to laneBatch,
// without blocking.
func drainLane(lane <-chan outgoing, batch []outgoing) []outgoing {
	for len(batch) < laneBatch {
		select {
		case o, ok := <-lane:
			if !ok {
				return batch
			}
			batch = append(batch, o)
		default:
			return batch
		}
	}
	return batch
}

// count adds an acknowledged batch, sent at the given time, to the counts.
func (s *sender) count(batch []outgoing, sentAt time.Duration) {
	var events, sessions, clients int64
	for _, o := range batch {
		switch o.msg.Topic {
		case s.topics.Events():
			events++
		case s.topics.Sessions():
			sessions++
		case s.topics.Clients():
			clients++
		}
	}
	s.events.Add(events)
	s.sessions.Add(sessions)
	s.clients.Add(clients)
	if events == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.anySend || sentAt < s.firstSend {
		s.firstSend = sentAt
	}
	s.anySend = true
	s.lastSend = max(s.lastSend, sentAt)
}

// firstEventSend returns the time of the first Send of an event, or 0
// before Kafka acknowledged one.
func (s *sender) firstEventSend() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstSend
}

// lastEventSend returns the time of the latest Send of an event.
func (s *sender) lastEventSend() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSend
}
