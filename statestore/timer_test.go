package statestore

import (
	"reflect"
	"testing"
)

func TestTimersComeDueInTimeOrder(t *testing.T) {
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	b := s.NewBatch()
	b.SetTimer(300, "c")
	b.SetTimer(100, "a")
	b.SetTimer(200, "b")
	b.SetTimer(200, "b")
	b.SetTimer(1<<40, "far")
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}

	due, err := s.DueTimers(250, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []Timer{{100, "a"}, {200, "b"}}
	if !reflect.DeepEqual(due, want) {
		t.Errorf("due at 250: %v, want %v", due, want)
	}
	if due, _ := s.DueTimers(1000, 1); len(due) != 1 || due[0].Ref != "a" {
		t.Errorf("limit 1: %v", due)
	}

	b = s.NewBatch()
	b.DeleteTimer(100, "a")
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueTimers(1000, 10)
	want = []Timer{{200, "b"}, {300, "c"}}
	if !reflect.DeepEqual(due, want) {
		t.Errorf("after delete: %v, want %v", due, want)
	}
}

func TestTimerRejectsInvalidInput(t *testing.T) {
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		at  int64
		ref string
	}{{-1, "a"}, {1, ""}} {
		b := s.NewBatch()
		b.SetTimer(c.at, c.ref)
		if err := b.Commit(); err == nil {
			t.Errorf("SetTimer(%d, %q) committed", c.at, c.ref)
		}
	}
}
