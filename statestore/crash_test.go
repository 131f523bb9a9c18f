package statestore

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The crash test runs its own test binary as a child process that commits
// batches until the parent kills it with SIGKILL. These environment
// variables tell the child where to write and whether to sync.
const (
	crashDirEnv    = "STATESTORE_CRASH_DIR"
	crashNoSyncEnv = "STATESTORE_CRASH_NOSYNC"
)

const (
	crashRounds      = 3
	crashKeys        = 50   // rows written by every batch
	crashValueBytes  = 1024 // large enough that memtables flush during a round
	crashMaxBatches  = 100_000
	crashMaxDuration = 20 * time.Second
	crashAckPrefix   = "committed "
)

// TestCommitSurvivesKill kills a process that commits batches, reopens its
// store and checks that the stored offset and every row come from the same
// batch. With synced commits it also checks that no acknowledged batch was
// lost.
func TestCommitSurvivesKill(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		runCrashChild(t, dir, os.Getenv(crashNoSyncEnv) != "")
		return
	}

	for _, noSync := range []bool{false, true} {
		t.Run(fmt.Sprintf("nosync=%v", noSync), func(t *testing.T) {
			dir := t.TempDir()
			var previous int64
			for round := range crashRounds {
				lastAck := runCrashRound(t, dir, noSync)
				offset := checkCrashStore(t, dir)
				t.Logf("round %d: last acknowledged batch %d, stored offset %d", round, lastAck, offset)

				if offset > lastAck+1 {
					t.Errorf("round %d: stored offset %d is beyond the batch in flight %d", round, offset, lastAck+1)
				}
				if !noSync && offset < lastAck {
					t.Errorf("round %d: stored offset %d lost acknowledged batch %d", round, offset, lastAck)
				}
				if offset < previous {
					t.Errorf("round %d: stored offset %d is below the previous round's %d", round, offset, previous)
				}
				previous = offset
			}
		})
	}
}

// crashValue returns the value that batch writes to every row: the batch
// number in 8 big-endian bytes, then padding.
func crashValue(batch int64) []byte {
	value := make([]byte, crashValueBytes)
	binary.BigEndian.PutUint64(value, uint64(batch))
	for i := 8; i < len(value); i++ {
		value[i] = 'x'
	}
	return value
}

// runCrashChild is the child side: it resumes after the stored offset and
// commits batches, printing the number of each one after Commit returns.
func runCrashChild(t *testing.T, dir string, noSync bool) {
	s, err := Open(dir, Options{NoSync: noSync})
	if err != nil {
		t.Fatalf("child: Open: %v", err)
	}
	defer s.Close()

	offset, _, err := s.Offset("events")
	if err != nil {
		t.Fatalf("child: Offset: %v", err)
	}

	deadline := time.Now().Add(crashMaxDuration)
	for batch := offset + 1; batch <= offset+crashMaxBatches && time.Now().Before(deadline); batch++ {
		b := s.NewBatch()
		value := crashValue(batch)
		for k := range crashKeys {
			b.Put("tenant", "crash", fmt.Sprintf("k%02d", k), value)
		}
		b.SetOffset("events", batch)
		if err := b.Commit(); err != nil {
			t.Fatalf("child: Commit of batch %d: %v", batch, err)
		}
		fmt.Fprintf(os.Stdout, "%s%d\n", crashAckPrefix, batch)
	}
}

// runCrashRound starts a child on dir, kills it a random time after its
// first commit and returns the last batch number it acknowledged.
func runCrashRound(t *testing.T, dir string, noSync bool) int64 {
	t.Helper()

	cmd := exec.Command(os.Args[0], "-test.run=^TestCommitSurvivesKill$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	if noSync {
		cmd.Env = append(cmd.Env, crashNoSyncEnv+"=1")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}

	acks := make(chan int64)
	var other strings.Builder // child output other than acknowledgements
	go func() {
		defer close(acks)
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			number, isAck := strings.CutPrefix(lines.Text(), crashAckPrefix)
			batch, err := strconv.ParseInt(number, 10, 64)
			if !isAck || err != nil {
				other.WriteString(lines.Text() + "\n")
				continue
			}
			acks <- batch
		}
	}()

	var lastAck int64
	select {
	case batch, ok := <-acks:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("child exited before its first commit\nstdout:\n%s\nstderr:\n%s", other.String(), stderr.String())
		}
		lastAck = batch
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child made no commit within a minute\nstderr:\n%s", stderr.String())
	}

	delay := time.Duration(10+rand.N(290)) * time.Millisecond
	kill := time.After(delay)
	killed := false
	for !killed {
		select {
		case batch, ok := <-acks:
			if !ok {
				killed = true // the child stopped at its own limit
				continue
			}
			lastAck = batch
		case <-kill:
			if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Fatalf("kill child: %v", err)
			}
			killed = true
		}
	}
	for batch := range acks {
		lastAck = batch
	}

	err = cmd.Wait()
	var exitErr *exec.ExitError
	if err != nil && !(errors.As(err, &exitErr) && !exitErr.Exited()) {
		t.Fatalf("child failed: %v\nstdout:\n%s\nstderr:\n%s", err, other.String(), stderr.String())
	}
	return lastAck
}

// checkCrashStore reopens the store in dir, checks that every row holds the
// value of the batch named by the stored offset and returns that offset.
func checkCrashStore(t *testing.T, dir string) int64 {
	t.Helper()

	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()

	offset, found, err := s.Offset("events")
	if err != nil {
		t.Fatalf("Offset: %v", err)
	}
	if !found {
		t.Fatal("no stored offset after the child acknowledged a commit")
	}

	want := crashValue(offset)
	rows := 0
	err = s.ScanAll(func(tenant, table, id string, value []byte) error {
		rows++
		if !bytes.Equal(value, want) {
			t.Errorf("row %s/%s/%s holds batch %d, stored offset is %d",
				tenant, table, id, binary.BigEndian.Uint64(value), offset)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ScanAll: %v", err)
	}
	if rows != crashKeys {
		t.Errorf("store has %d rows, want %d", rows, crashKeys)
	}
	return offset
}
