package ops_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gridsession/gridsession/internal/ops"
)

func TestReadinessNeedsBothStages(t *testing.T) {
	r := ops.NewReadiness()
	if err := r.Check(); !errors.Is(err, ops.ErrNotAssigned) || !strings.Contains(err.Error(), "session and space") {
		t.Errorf("Check before any assignment = %v, want ErrNotAssigned naming both stages", err)
	}

	r.Assigned(ops.StageSession, 0)
	if err := r.Check(); !errors.Is(err, ops.ErrNotAssigned) || !strings.Contains(err.Error(), "space stage") {
		t.Errorf("Check with only the session stage = %v, want ErrNotAssigned naming the space stage", err)
	}

	r.Assigned(ops.StageSpace, 3)
	if err := r.Check(); err != nil {
		t.Errorf("Check with both stages = %v, want nil", err)
	}

	// Readiness stays once reached: losing every partition in a rebalance
	// does not make the worker unready.
	r.Revoked(ops.StageSession, 0)
	r.Revoked(ops.StageSpace, 3)
	if err := r.Check(); err != nil {
		t.Errorf("Check after revokes = %v, want nil", err)
	}
}

func TestReadinessWaitsForEveryRestore(t *testing.T) {
	r := ops.NewReadiness()
	r.Assigned(ops.StageSession, 0)
	r.Assigned(ops.StageSpace, 0)

	r.RestoreStarted(ops.StageSpace, 2)
	r.RestoreStarted(ops.StageSession, 1)
	err := r.Check()
	if !errors.Is(err, ops.ErrRestoring) || !strings.Contains(err.Error(), "session/1, space/2") {
		t.Errorf("Check during two restores = %v, want ErrRestoring naming session/1, space/2", err)
	}

	r.RestoreDone(ops.StageSession, 1)
	if err := r.Check(); !errors.Is(err, ops.ErrRestoring) {
		t.Errorf("Check with one restore left = %v, want ErrRestoring", err)
	}

	// A revoke ends a restore that never reported its end.
	r.Revoked(ops.StageSpace, 2)
	if err := r.Check(); err != nil {
		t.Errorf("Check after the last restore's partition was revoked = %v, want nil", err)
	}
}

func TestReadinessRestoreBeforeAssignment(t *testing.T) {
	r := ops.NewReadiness()
	r.RestoreStarted(ops.StageSession, 0)
	r.Assigned(ops.StageSession, 0)
	r.Assigned(ops.StageSpace, 0)
	if err := r.Check(); !errors.Is(err, ops.ErrRestoring) {
		t.Errorf("Check = %v, want ErrRestoring", err)
	}
}

func TestReadinessStopped(t *testing.T) {
	r := ops.NewReadiness()
	r.Assigned(ops.StageSession, 0)
	r.Assigned(ops.StageSpace, 0)
	if err := r.Live(); err != nil {
		t.Errorf("Live before Stopped = %v, want nil", err)
	}

	r.Stopped()
	if err := r.Live(); !errors.Is(err, ops.ErrStopped) {
		t.Errorf("Live after Stopped = %v, want ErrStopped", err)
	}
	if err := r.Check(); !errors.Is(err, ops.ErrStopped) {
		t.Errorf("Check after Stopped = %v, want ErrStopped", err)
	}
}
