package processor

import (
	"encoding/json"
	"fmt"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/publish"
	"github.com/gridsession/gridsession/schemas"
	"github.com/gridsession/gridsession/statestore"
)

// tableSpace is the Pebble table of the space stage.
const tableSpace = "space"

// spaceStage folds session contributions into space state.
type spaceStage struct{ w *Worker }

func (s spaceStage) name() string      { return "space" }
func (s spaceStage) inputs() []string  { return []string{s.w.cfg.Topics.SpaceUpdates()} }
func (s spaceStage) changelog() string { return s.w.cfg.Topics.SpaceChangelog() }

func (s spaceStage) newBatch(p *partition) batch {
	return &spaceBatch{
		p:      p,
		spaces: map[stateKey]*projection.Space{},
		dirty:  map[stateKey]bool{},
		stats:  BatchStats{Stage: "space", Partition: p.num, Applied: map[string]int{}, Offsets: map[string]int64{}},
	}
}

// spaceBatch folds the contributions of one batch into space state kept in
// memory until the batch commits.
type spaceBatch struct {
	p *partition

	spaces map[stateKey]*projection.Space
	dirty  map[stateKey]bool
	// changed marks spaces whose visible state changed in this batch; each
	// is published once, after the batch.
	changed map[stateKey]bool
	fired   []statestore.Timer

	rejections []ingest.Rejection
	stats      BatchStats
}

func (f *spaceBatch) space(k stateKey) (*projection.Space, error) {
	empty := func() *projection.Space { return &projection.Space{Tenant: k.tenant, ID: k.id} }
	return loadState(f.p, f.spaces, k, tableSpace, empty, projection.UnmarshalSpace)
}

func (f *spaceBatch) markChanged(k stateKey) {
	if f.changed == nil {
		f.changed = map[stateKey]bool{}
	}
	f.changed[k] = true
}

func (f *spaceBatch) fold(rec ingest.Record) error {
	f.stats.Records++
	if last, ok := f.p.applied[rec.Topic]; ok && rec.Offset <= last {
		f.stats.Skipped++
		return nil
	}
	f.stats.Offsets[rec.Topic] = rec.Offset

	var c projection.Contribution
	if err := json.Unmarshal(rec.Value, &c); err != nil || c.Tenant == "" || c.Space == "" || c.Session == "" {
		// Only the session stage writes this topic, so this is a bug or a
		// foreign producer; keep the record for inspection.
		f.rejections = append(f.rejections, ingest.Rejection{Record: rec, Reason: string(schemas.ReasonInvalidJSON), Err: fmt.Errorf("processor: invalid contribution: %v", err)})
		f.stats.Rejected++
		return nil
	}

	k := stateKey{c.Tenant, c.Space}
	sp, err := f.space(k)
	if err != nil {
		return err
	}
	changed, err := projection.ApplyContribution(sp, c, f.p.w.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("processor: apply contribution to %s/%s: %w", c.Tenant, c.Space, err)
	}
	f.dirty[k] = true
	if changed {
		f.markChanged(k)
	}
	f.stats.Applied[rec.Topic]++
	return nil
}

func (f *spaceBatch) expire(timers []statestore.Timer, now int64) error {
	for _, t := range timers {
		f.fired = append(f.fired, t)
		k, ok := parseRef(t.Ref)
		if !ok {
			continue
		}
		sp, err := f.space(k)
		if err != nil {
			return err
		}
		f.dirty[k] = true
		if projection.ExpireSpace(sp, now) {
			f.markChanged(k)
		}
	}
	return nil
}

func (f *spaceBatch) output() batchOutput {
	var messages []publish.Message
	now := f.p.w.now().UnixMilli()
	for k := range f.changed {
		sp := f.spaces[k]
		view, err := encodeJSON(sp.View(now))
		if err != nil {
			continue // a SpaceState of strings and numbers always encodes
		}
		subject := f.p.w.cfg.Subjects.SpaceState(k.tenant, k.id)
		messages = append(messages, publish.StateMessage(subject, sp.Version, view, publish.IDs{Tenant: k.tenant, Space: k.id}))
	}
	return batchOutput{rejections: f.rejections, messages: messages, stats: f.stats, records: []kafka.Message(nil)}
}

func (f *spaceBatch) encode() (changes, error) {
	var c changes
	for _, t := range f.fired {
		c.deleteTimer(t.At, t.Ref)
	}
	for k := range f.dirty {
		sp := f.spaces[k]
		sp.TimerAt = c.moveTimer(sp.TimerAt, projection.NextSpaceExpiry(sp), k.ref())
		raw, err := projection.MarshalSpace(sp)
		if err != nil {
			return c, fmt.Errorf("processor: encode space %s/%s: %w", k.tenant, k.id, err)
		}
		c.entries = append(c.entries, entry{k.tenant, tableSpace, k.id, raw})
	}
	return c, nil
}

func (f *spaceBatch) committed() {
	for k, sp := range f.spaces {
		f.p.cache.put(k, sp)
	}
}
