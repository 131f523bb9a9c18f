package ops

import (
	"strconv"
	"testing"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/processor"
)

// lagOf gathers the metrics and returns the lag of one topic partition,
// and false when it has no series.
func lagOf(t *testing.T, m *Metrics, stage, topic string, partition int) (float64, bool) {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"stage": stage, "topic": topic, "partition": strconv.Itoa(partition)}
	for _, f := range families {
		if f.GetName() != "gridsession_consumer_lag_records" {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			return s.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func TestLagFromAppliedAndEndOffsets(t *testing.T) {
	topics := ingest.Topics{Prefix: "lag"}
	m := NewMetrics(topics)
	events := topics.Events()
	m.onAssigned(StageSession, 2, 1)

	m.setEndOffsets(map[topicPartition]int64{{events, 2}: 100, {topics.Clients(), 2}: 0, {topics.Sessions(), 2}: 7})
	if _, ok := lagOf(t, m, StageSession, events, 2); ok {
		t.Error("lag reported before the applied offset is known")
	}
	if lag, ok := lagOf(t, m, StageSession, topics.Clients(), 2); !ok || lag != 0 {
		t.Errorf("lag of an empty partition = %v (present %v), want 0", lag, ok)
	}

	m.onBatch(processor.BatchStats{Stage: StageSession, Partition: 2, Offsets: map[string]int64{events: 59}})
	if lag, _ := lagOf(t, m, StageSession, events, 2); lag != 40 {
		t.Errorf("lag after applying offset 59 of 100 = %v, want 40", lag)
	}

	m.onBatch(processor.BatchStats{Stage: StageSession, Partition: 2, Offsets: map[string]int64{events: 120}})
	if lag, _ := lagOf(t, m, StageSession, events, 2); lag != 0 {
		t.Errorf("lag after applying past the last end offset read = %v, want 0", lag)
	}

	m.onResumed(StageSession, 2, map[string]int64{topics.Sessions(): 3})
	if lag, _ := lagOf(t, m, StageSession, topics.Sessions(), 2); lag != 3 {
		t.Errorf("lag after resuming after offset 3 of 7 = %v, want 3", lag)
	}
}

func TestLagDroppedOnRevoke(t *testing.T) {
	topics := ingest.Topics{Prefix: "lag"}
	m := NewMetrics(topics)
	updates := topics.SpaceUpdates()
	m.onAssigned(StageSpace, 0, 5)
	m.onBatch(processor.BatchStats{Stage: StageSpace, Partition: 0, Offsets: map[string]int64{updates: 9}})
	m.setEndOffsets(map[topicPartition]int64{{updates, 0}: 20})
	if lag, _ := lagOf(t, m, StageSpace, updates, 0); lag != 10 {
		t.Fatalf("lag = %v, want 10", lag)
	}

	m.onRevoked(StageSpace, 0, 4)
	if _, ok := lagOf(t, m, StageSpace, updates, 0); !ok {
		t.Error("revoke of an older generation dropped the lag")
	}
	m.onRevoked(StageSpace, 0, 5)
	if _, ok := lagOf(t, m, StageSpace, updates, 0); ok {
		t.Error("lag still reported after revoke")
	}

	m.setEndOffsets(map[topicPartition]int64{{updates, 0}: 30})
	if _, ok := lagOf(t, m, StageSpace, updates, 0); ok {
		t.Error("end offset read after the revoke brought the lag back")
	}
}
