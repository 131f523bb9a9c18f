package ops

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Readiness decides what /healthz and /readyz return. A worker is ready
// once it has been assigned partitions of both stages at least once, while
// no partition's state is being restored, and until it stops. Its methods
// are safe for concurrent use.
//
// NOTE: a worker that never gets a partition of a stage, because its group
// has more members than the topic has partitions, stays unready.
//
// TODO: report unready while a stage waits to rejoin its group; once both
// stages had partitions, a worker left without any stays ready.
type Readiness struct {
	mu sync.Mutex
	// assigned records the stages that have had a partition assigned.
	assigned  map[string]bool
	restoring map[stagePartition]bool
	stopped   bool
}

// NewReadiness returns a Readiness that is not ready yet.
func NewReadiness() *Readiness {
	return &Readiness{
		assigned:  map[string]bool{},
		restoring: map[stagePartition]bool{},
	}
}

// Assigned records that the worker owns a partition of stage.
func (r *Readiness) Assigned(stage string, partition int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.assigned[stage] = true
}

// Revoked records that the worker no longer owns a partition. A restore of
// it still in progress counts as ended, so that a restore cut short by a
// rebalance cannot keep the worker unready.
func (r *Readiness) Revoked(stage string, partition int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.restoring, stagePartition{stage, partition})
}

// RestoreStarted records that the state of a partition is being restored.
// The worker is not ready until RestoreDone or Revoked is called for it.
func (r *Readiness) RestoreStarted(stage string, partition int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.restoring[stagePartition{stage, partition}] = true
}

// RestoreDone records that the restore of a partition ended, whether it
// succeeded or not.
func (r *Readiness) RestoreDone(stage string, partition int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.restoring, stagePartition{stage, partition})
}

// Stopped records that the worker's Run returned. Both probes fail from
// then on.
func (r *Readiness) Stopped() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
}

// Live returns ErrStopped after Stopped, and nil before.
func (r *Readiness) Live() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return ErrStopped
	}
	return nil
}

// Check returns nil when the worker is ready. Otherwise it returns
// ErrStopped, or ErrNotAssigned or ErrRestoring wrapped with the stages or
// partitions concerned.
func (r *Readiness) Check() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return ErrStopped
	}

	var waiting []string
	for _, stage := range []string{StageSession, StageSpace} {
		if !r.assigned[stage] {
			waiting = append(waiting, stage)
		}
	}
	if len(waiting) > 0 {
		return fmt.Errorf("%w: no partition of the %s stage yet", ErrNotAssigned, strings.Join(waiting, " and "))
	}

	if len(r.restoring) > 0 {
		return fmt.Errorf("%w: %s", ErrRestoring, r.restoringListLocked())
	}
	return nil
}

// restoringListLocked returns the partitions being restored, sorted, such
// as "session/0, space/3".
func (r *Readiness) restoringListLocked() string {
	keys := make([]stagePartition, 0, len(r.restoring))
	for key := range r.restoring {
		keys = append(keys, key)
	}
	slices.SortFunc(keys, func(a, b stagePartition) int {
		return cmp.Or(cmp.Compare(a.stage, b.stage), cmp.Compare(a.partition, b.partition))
	})

	names := make([]string, len(keys))
	for i, key := range keys {
		names[i] = fmt.Sprintf("%s/%d", key.stage, key.partition)
	}
	return strings.Join(names, ", ")
}
