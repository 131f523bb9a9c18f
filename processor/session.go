package processor

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/schemas"
	"github.com/gridsession/gridsession/statestore"
)

// Pebble tables of the session stage.
const (
	tableSession = "session"
	tableClient  = "client"
)

// Reasons for rejecting a record whose key or partition does not match its
// id. Its state would land on a partition where gets never look.
const (
	ReasonWrongKey       = "wrong_key"
	ReasonWrongPartition = "wrong_partition"
)

// refSeparator joins the parts of a timer reference. Ids never contain
// control characters, so it cannot occur inside a part.
const refSeparator = "\x1f"

type stateKey struct{ tenant, id string }

func (k stateKey) ref() string { return k.tenant + refSeparator + k.id }

func parseRef(ref string) (stateKey, bool) {
	tenant, id, ok := strings.Cut(ref, refSeparator)
	return stateKey{tenant, id}, ok && tenant != "" && id != ""
}

// sessionStage folds client, session and event records into session state.
type sessionStage struct{ w *Worker }

func (s sessionStage) name() string      { return "session" }
func (s sessionStage) inputs() []string  { return s.w.cfg.Topics.Inputs() }
func (s sessionStage) changelog() string { return s.w.cfg.Topics.SessionChangelog() }

func (s sessionStage) newBatch(p *partition) batch {
	return &sessionBatch{
		p:          p,
		sessions:   map[stateKey]*projection.Session{},
		dirty:      map[stateKey]bool{},
		contribute: map[stateKey]bool{},
		clients:    map[stateKey]*projection.ClientState{},
		stats:      BatchStats{Stage: "session", Partition: p.num, Applied: map[string]int{}, Offsets: map[string]int64{}},
	}
}

// sessionBatch folds the records of one batch into session state kept in
// memory until the batch commits. It reads missing state from the store and
// never writes to it.
type sessionBatch struct {
	p *partition

	sessions map[stateKey]*projection.Session
	dirty    map[stateKey]bool
	// contribute marks sessions whose space part changed in this batch.
	contribute map[stateKey]bool
	clients    map[stateKey]*projection.ClientState
	// fired lists the timers this batch handled, to delete them.
	fired []statestore.Timer

	records    []kafka.Message
	messages   []publish.Message
	rejections []ingest.Rejection
	stats      BatchStats
}

func (f *sessionBatch) cfg() *Config { return &f.p.w.cfg }

func (f *sessionBatch) fold(rec ingest.Record) error {
	f.stats.Records++
	if last, ok := f.p.applied[rec.Topic]; ok && rec.Offset <= last {
		f.stats.Skipped++
		return nil
	}
	f.stats.Offsets[rec.Topic] = rec.Offset

	var err error
	switch rec.Topic {
	case f.cfg().Topics.Events():
		err = f.foldEvent(rec)
	case f.cfg().Topics.Sessions():
		err = f.foldSession(rec)
	case f.cfg().Topics.Clients():
		err = f.foldClient(rec)
	default:
		err = fmt.Errorf("processor: record from unexpected topic %s", rec.Topic)
	}

	if rejected, storeErr := f.rejectInvalid(rec, err); rejected || storeErr != nil {
		return storeErr
	}
	f.stats.Applied[rec.Topic]++
	return nil
}

// rejectInvalid turns a validation error into a rejection. It reports
// whether rec was rejected, and returns any other error.
func (f *sessionBatch) rejectInvalid(rec ingest.Record, err error) (bool, error) {
	var fe *schemas.FieldError
	var re *routeError
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &fe):
		f.reject(rec, string(fe.Reason), fe.Field, err)
	case errors.As(err, &re):
		f.reject(rec, re.reason, re.field, err)
	case errors.Is(err, projection.ErrWrongSession):
		f.reject(rec, string(schemas.ReasonInvalidField), "tenantId", err)
	default:
		return false, err
	}
	return true, nil
}

func (f *sessionBatch) reject(rec ingest.Record, reason, field string, err error) {
	f.rejections = append(f.rejections, ingest.Rejection{Record: rec, Reason: reason, Field: field, Err: err})
	f.stats.Rejected++
}

// routeError rejects a record that is valid but was keyed or partitioned so
// that its state would be unreachable.
type routeError struct {
	reason, field, detail string
}

func (e *routeError) Error() string { return "processor: " + e.reason + ": " + e.detail }

// quoteKey quotes a record key for an error message, shortened to 64 bytes
// so that a huge key cannot flood logs and dead-letter headers.
func quoteKey(key []byte) string {
	const max = 64
	if len(key) > max {
		return fmt.Sprintf("%q... (%d bytes)", key[:max], len(key))
	}
	return fmt.Sprintf("%q", key)
}

// checkRoute requires the Kafka key to be the record's id and the partition
// to be the one the murmur2 partitioner picks for it.
func (f *sessionBatch) checkRoute(rec ingest.Record, field, id string) error {
	if string(rec.Key) != id {
		return &routeError{reason: ReasonWrongKey, field: field, detail: fmt.Sprintf("record key %s must equal %s %q", quoteKey(rec.Key), field, id)}
	}
	want := f.p.w.partitionOf(rec.Key)
	if want >= 0 && want != rec.Partition {
		return &routeError{reason: ReasonWrongPartition, field: field, detail: fmt.Sprintf("%s %q belongs on partition %d by murmur2, not %d", field, id, want, rec.Partition)}
	}
	return nil
}

func (f *sessionBatch) session(k stateKey) (*projection.Session, error) {
	empty := func() *projection.Session { return &projection.Session{Tenant: k.tenant, ID: k.id} }
	return loadState(f.p, f.sessions, k, tableSession, empty, projection.Unmarshal)
}

// captureID returns a captureId derived from the record's coordinates, for
// an event whose producer set none, so that a replay assigns the same id.
// It contains '.', which producers' ids may not, so a producer cannot set an
// id that hides a later record.
func captureID(rec ingest.Record) string {
	return "kafka.p" + strconv.Itoa(rec.Partition) + ".o" + strconv.FormatInt(rec.Offset, 10)
}

func (f *sessionBatch) foldEvent(rec ingest.Record) error {
	e, err := f.cfg().Validator.DecodeEvent(rec.Value)
	if err != nil {
		return err
	}
	if err := f.checkRoute(rec, "sessionId", e.SessionID); err != nil {
		return err
	}
	if e.CaptureID == "" {
		e.CaptureID = captureID(rec)
	}

	k := stateKey{e.TenantID, e.SessionID}
	s, err := f.session(k)
	if err != nil {
		return err
	}
	changes, err := projection.ApplyEvent(s, e, rec.Time, f.cfg().Projection)
	if err != nil {
		return err
	}
	if changes.Duplicate {
		f.stats.Duplicates++
		return nil
	}
	f.dirty[k] = true
	if changes.Contribution {
		f.contribute[k] = true
	}

	if f.cfg().Replay {
		return nil // a replay publishes nothing
	}
	raw, err := encodeJSON(publishedEvent(e, s))
	if err != nil {
		return fmt.Errorf("processor: encode event: %w", err)
	}
	subjects := f.cfg().Subjects
	ids := publish.IDs{Tenant: e.TenantID, Session: e.SessionID, Space: s.SpaceID, CaptureID: e.CaptureID}
	f.messages = append(f.messages, publish.EventMessage(subjects.SessionEvents(e.TenantID, e.SessionID), raw, ids))
	if s.Known {
		f.messages = append(f.messages, publish.EventMessage(subjects.SpaceEvents(e.TenantID, s.SpaceID), raw, ids))
	}
	if changes.State {
		return f.publishState(s)
	}
	return nil
}

// publishedEvent returns the event as subscribers see it. The contact value
// of a CONTACT_IDENTIFY is personal data that gridsession never keeps in
// clear, and the space subject reaches every device of a store, so str2
// carries the contact's keyed hash instead, which still lets subscribers
// tell contacts apart.
func publishedEvent(e *schemas.Event, s *projection.Session) *schemas.Event {
	if e.EventType != schemas.EventContactIdentify {
		return e
	}
	out := *e
	hash := "hmac-sha256:" + s.Contact
	out.Str2 = &hash
	return &out
}

func (f *sessionBatch) publishState(s *projection.Session) error {
	if f.cfg().Replay {
		return nil
	}
	view, err := encodeJSON(s.View())
	if err != nil {
		return fmt.Errorf("processor: encode session state: %w", err)
	}
	subject := f.cfg().Subjects.SessionState(s.Tenant, s.ID)
	f.messages = append(f.messages, publish.StateMessage(subject, s.Version, view, publish.IDs{Tenant: s.Tenant, Session: s.ID, Space: s.SpaceID}))
	return nil
}

func (f *sessionBatch) foldSession(rec ingest.Record) error {
	r, err := f.cfg().Validator.DecodeSession(rec.Value)
	if err != nil {
		return err
	}
	if err := f.checkRoute(rec, "sessionId", r.SessionID); err != nil {
		return err
	}
	k := stateKey{r.TenantID, r.SessionID}
	s, err := f.session(k)
	if err != nil {
		return err
	}
	changes, err := projection.ApplySession(s, r, f.cfg().Projection)
	if err != nil {
		return err
	}
	if changes.Duplicate {
		return nil
	}
	f.dirty[k] = true
	if changes.PreviousSpaceID != "" {
		// The session moved: withdraw its part from the old space now,
		// while the new one follows with the batch's contributions.
		f.addContribution(projection.Contribute(s, changes.PreviousSpaceID, true, f.cfg().Projection))
	}
	if changes.SpaceKnown || changes.PreviousSpaceID != "" {
		f.contribute[k] = true
	}
	return nil
}

func (f *sessionBatch) foldClient(rec ingest.Record) error {
	r, err := f.cfg().Validator.DecodeClient(rec.Value)
	if err != nil {
		return err
	}
	if string(rec.Key) != r.ClientID {
		return &routeError{reason: ReasonWrongKey, field: "clientId", detail: fmt.Sprintf("record key %s must equal clientId %q", quoteKey(rec.Key), r.ClientID)}
	}
	k := stateKey{r.TenantID, r.ClientID}
	c := f.clients[k]
	if c == nil {
		c = &projection.ClientState{}
		f.clients[k] = c
	}
	_, err = projection.ApplyClient(c, r)
	return err
}

// expire removes the values of the sessions whose timers are due.
func (f *sessionBatch) expire(timers []statestore.Timer, now int64) error {
	for _, t := range timers {
		f.fired = append(f.fired, t)
		k, ok := parseRef(t.Ref)
		if !ok {
			continue
		}
		s, err := f.session(k)
		if err != nil {
			return err
		}
		changes := projection.Expire(s, now, f.cfg().Projection)
		f.dirty[k] = true
		if changes.Contribution {
			f.contribute[k] = true
		}
		if changes.State {
			if err := f.publishState(s); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *sessionBatch) addContribution(c projection.Contribution) {
	raw, err := encodeJSON(c)
	if err != nil {
		return // a Contribution of strings and numbers always encodes
	}
	f.records = append(f.records, kafka.Message{
		Topic: f.cfg().Topics.SpaceUpdates(),
		Key:   []byte(ingest.SpaceKey(c.Tenant, c.Space)),
		Value: raw,
	})
}

func (f *sessionBatch) output() batchOutput {
	if f.cfg().Replay {
		clear(f.contribute) // the space stage folds the contributions already logged
	}
	for k := range f.contribute {
		s := f.sessions[k]
		if s.Known {
			f.addContribution(projection.Contribute(s, s.SpaceID, false, f.cfg().Projection))
		}
	}
	clear(f.contribute)
	return batchOutput{rejections: f.rejections, records: f.records, messages: f.messages, stats: f.stats}
}

// encode returns the batch's sessions and clients as stored, and moves each
// session's timer to its next expiry.
func (f *sessionBatch) encode() (changes, error) {
	var c changes
	for _, t := range f.fired {
		c.deleteTimer(t.At, t.Ref)
	}
	for k := range f.dirty {
		s := f.sessions[k]
		s.TimerAt = c.moveTimer(s.TimerAt, projection.NextExpiry(s, f.cfg().Projection), k.ref())
		raw, err := projection.Marshal(s)
		if err != nil {
			return c, fmt.Errorf("processor: encode session %s/%s: %w", k.tenant, k.id, err)
		}
		c.entries = append(c.entries, entry{k.tenant, tableSession, k.id, raw})
	}
	for k, cl := range f.clients {
		raw, err := projection.MarshalClient(cl)
		if err != nil {
			return c, fmt.Errorf("processor: encode client %s/%s: %w", k.tenant, k.id, err)
		}
		c.entries = append(c.entries, entry{k.tenant, tableClient, k.id, raw})
	}
	return c, nil
}

func (f *sessionBatch) committed() {
	for k, s := range f.sessions {
		f.p.cache.put(k, s)
	}
}

// partitionOf returns the partition the murmur2 partitioner picks for key,
// or -1 when the partition count is unknown.
func (w *Worker) partitionOf(key []byte) int {
	if w.partitions <= 0 {
		return -1
	}
	return w.balancer.Balance(kafka.Message{Key: key}, w.partitionList...)
}
