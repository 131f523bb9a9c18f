package processor

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

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

type stateKey struct{ tenant, id string }

// folder folds the records of one batch into state kept in memory until the
// batch commits. It reads missing state from the store and never writes to
// it.
type folder struct {
	p *partition

	sessions map[stateKey]*projection.Session
	dirty    map[stateKey]bool
	clients  map[stateKey]*projection.ClientState

	messages   []publish.Message
	rejections []ingest.Rejection
	applied    map[string]int64
	stats      BatchStats
}

func newFolder(p *partition) *folder {
	return &folder{
		p:        p,
		sessions: map[stateKey]*projection.Session{},
		dirty:    map[stateKey]bool{},
		clients:  map[stateKey]*projection.ClientState{},
		applied:  map[string]int64{},
		stats:    BatchStats{Partition: p.num, Applied: map[string]int{}},
	}
}

// fold applies one record. It returns only store failures, because a bad
// record becomes a rejection.
func (f *folder) fold(rec ingest.Record) error {
	f.stats.Records++
	if last, ok := f.p.applied[rec.Topic]; ok && rec.Offset <= last {
		f.stats.Skipped++
		return nil
	}
	f.applied[rec.Topic] = rec.Offset

	var err error
	switch rec.Topic {
	case f.p.w.cfg.Topics.Events():
		err = f.foldEvent(rec)
	case f.p.w.cfg.Topics.Sessions():
		err = f.foldSession(rec)
	case f.p.w.cfg.Topics.Clients():
		err = f.foldClient(rec)
	default:
		err = fmt.Errorf("processor: record from unexpected topic %s", rec.Topic)
	}

	var fe *schemas.FieldError
	var re *routeError
	switch {
	case errors.As(err, &fe):
		f.reject(rec, string(fe.Reason), fe.Field, err)
		return nil
	case errors.As(err, &re):
		f.reject(rec, re.reason, re.field, err)
		return nil
	case err != nil:
		return err
	}
	f.stats.Applied[rec.Topic]++
	return nil
}

func (f *folder) reject(rec ingest.Record, reason, field string, err error) {
	r := ingest.Rejection{Record: rec, Reason: reason, Field: field, Err: err}
	f.rejections = append(f.rejections, r)
	f.stats.Rejected++
}

// routeError rejects a record that is valid but was keyed or partitioned so
// that its state would be unreachable.
type routeError struct {
	reason, field, detail string
}

func (e *routeError) Error() string { return "processor: " + e.reason + ": " + e.detail }

// checkRoute requires the Kafka key to be the record's id and the partition
// to be the one the murmur2 partitioner picks for it.
func (f *folder) checkRoute(rec ingest.Record, field, id string) error {
	if string(rec.Key) != id {
		return &routeError{reason: ReasonWrongKey, field: field, detail: fmt.Sprintf("record key %q must equal %s %q", rec.Key, field, id)}
	}
	want := f.p.w.partitionOf(rec.Key)
	if want >= 0 && want != rec.Partition {
		return &routeError{reason: ReasonWrongPartition, field: field, detail: fmt.Sprintf("%s %q belongs on partition %d by murmur2, not %d", field, id, want, rec.Partition)}
	}
	return nil
}

func (f *folder) session(tenant, id string) (*projection.Session, error) {
	k := stateKey{tenant, id}
	if s, ok := f.sessions[k]; ok {
		return s, nil
	}
	if s, ok := f.p.cache.get(k); ok {
		f.sessions[k] = s
		return s, nil
	}
	raw, ok, err := f.p.store.Get(tenant, tableSession, id)
	if err != nil {
		return nil, err
	}
	s := &projection.Session{Tenant: tenant, ID: id}
	if ok {
		if s, err = projection.Unmarshal(raw); err != nil {
			return nil, fmt.Errorf("processor: decode stored session %s/%s: %w", tenant, id, err)
		}
	}
	f.sessions[k] = s
	return s, nil
}

// captureID returns the event's captureId, assigning one derived from the
// record's coordinates when the producer set none, so that a replay assigns
// the same id again.
func captureID(rec ingest.Record) string {
	return "k-p" + strconv.Itoa(rec.Partition) + "-o" + strconv.FormatInt(rec.Offset, 10)
}

func (f *folder) foldEvent(rec ingest.Record) error {
	e, err := f.p.w.cfg.Validator.DecodeEvent(rec.Value)
	if err != nil {
		return err
	}
	if err := f.checkRoute(rec, "sessionId", e.SessionID); err != nil {
		return err
	}
	if e.CaptureID == "" {
		e.CaptureID = captureID(rec)
	}

	s, err := f.session(e.TenantID, e.SessionID)
	if err != nil {
		return err
	}
	changes, err := projection.ApplyEvent(s, e, rec.Time, f.p.w.cfg.Projection)
	if err != nil {
		return err
	}
	if changes.Duplicate {
		f.stats.Duplicates++
		return nil
	}
	f.dirty[stateKey{e.TenantID, e.SessionID}] = true

	raw, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("processor: encode event: %w", err)
	}
	subjects := f.p.w.cfg.Subjects
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

func (f *folder) publishState(s *projection.Session) error {
	view, err := json.Marshal(s.View())
	if err != nil {
		return fmt.Errorf("processor: encode session state: %w", err)
	}
	subject := f.p.w.cfg.Subjects.SessionState(s.Tenant, s.ID)
	f.messages = append(f.messages, publish.StateMessage(subject, s.Version, view, publish.IDs{Tenant: s.Tenant, Session: s.ID, Space: s.SpaceID}))
	return nil
}

func (f *folder) foldSession(rec ingest.Record) error {
	r, err := f.p.w.cfg.Validator.DecodeSession(rec.Value)
	if err != nil {
		return err
	}
	if err := f.checkRoute(rec, "sessionId", r.SessionID); err != nil {
		return err
	}
	s, err := f.session(r.TenantID, r.SessionID)
	if err != nil {
		return err
	}
	changes, err := projection.ApplySession(s, r, f.p.w.cfg.Projection)
	if err != nil {
		return err
	}
	if changes != (projection.Changes{}) {
		f.dirty[stateKey{r.TenantID, r.SessionID}] = true
	}
	return nil
}

func (f *folder) foldClient(rec ingest.Record) error {
	r, err := f.p.w.cfg.Validator.DecodeClient(rec.Value)
	if err != nil {
		return err
	}
	if string(rec.Key) != r.ClientID {
		return &routeError{reason: ReasonWrongKey, field: "clientId", detail: fmt.Sprintf("record key %q must equal clientId %q", rec.Key, r.ClientID)}
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

// write adds the batch's state and offsets to b.
func (f *folder) write(b *statestore.Batch) error {
	for k := range f.dirty {
		raw, err := projection.Marshal(f.sessions[k])
		if err != nil {
			return fmt.Errorf("processor: encode session %s/%s: %w", k.tenant, k.id, err)
		}
		b.Put(k.tenant, tableSession, k.id, raw)
	}
	for k, c := range f.clients {
		raw, err := projection.MarshalClient(c)
		if err != nil {
			return fmt.Errorf("processor: encode client %s/%s: %w", k.tenant, k.id, err)
		}
		b.Put(k.tenant, tableClient, k.id, raw)
	}
	for topic, off := range f.applied {
		b.SetOffset(topic, off)
	}
	return nil
}

// partitionOf returns the partition the murmur2 partitioner picks for key,
// or -1 when the partition count is unknown.
func (w *Worker) partitionOf(key []byte) int {
	if w.partitions <= 0 {
		return -1
	}
	return w.balancer.Balance(kafka.Message{Key: key}, w.partitionList...)
}
