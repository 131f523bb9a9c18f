package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/internal/rees46"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/publish"
)

// frozenClock is the time the worker processes of the failure test run at:
// before the sample files' first row, so nothing expires and the result is
// the same however the work was spread.
const frozenClock = "2019-09-30T00:00:00Z"

// buildBinary builds cmd/gridsession into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gridsession")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gridsession")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build gridsession: %v\n%s", err, out)
	}
	return bin
}

// process is one worker process of the real binary.
type process struct {
	cmd  *exec.Cmd
	done chan error
}

func (c *cluster) startProcess(t *testing.T, bin, dataDir string, extra ...string) *process {
	t.Helper()
	args := []string{"run",
		"--kafka", c.kafka.Addr(), "--nats", c.nats.ClientURL(), "--data-dir", dataDir,
		"--topic-prefix", c.topics.Prefix, "--clock", frozenClock, "--log-level", "debug"}
	cmd := exec.Command(bin, append(args, extra...)...)
	cmd.Env = append(os.Environ(), "GRIDSESSION_CONTACT_KEY=integration-contact-key")
	log, err := os.Create(dataDir + ".log")
	if err != nil {
		t.Fatal(err)
	}
	printTailOnFailure(t, dataDir+".log")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); log.Close() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("worker %d exited with %v", p.cmd.Process.Pid, err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("worker %d did not stop within 60s of SIGTERM", p.cmd.Process.Pid)
	}
}

// TestKillOneOfThreeWorkers streams the real files through three worker
// processes, kills one with SIGKILL mid-stream and starts a replacement on
// an empty data directory. The state the cluster ends with, as its
// changelogs record it, must equal a single replay of the same input: no
// record lost or applied twice.
func TestKillOneOfThreeWorkers(t *testing.T) {
	dir, err := rees46.FindSampleDir()
	if err != nil {
		t.Skipf("REES46 samples not found (set %s): %v", rees46.SampleDirEnv, err)
	}
	bin := buildBinary(t)
	c := newCluster(t)
	work := t.TempDir()

	workers := make([]*process, 3)
	for i := range workers {
		workers[i] = c.startProcess(t, bin, filepath.Join(work, fmt.Sprintf("w%d", i)))
	}

	// The kill comes once the groups are stable. The embedded broker
	// keeps a member that dies while its join is in flight, with the
	// partitions assigned to it, until the next rebalance. A real broker
	// drops it after the session timeout.
	waitMembers(t, c, 3)

	// The first file goes in while all three run; a worker is killed
	// while they fold it, and the rest of the data follows while its
	// replacement restores from the changelogs on an empty directory.
	c.load(rees46.MulticategoryPaths(dir))
	if err := workers[1].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-workers[1].done
	workers[1] = c.startProcess(t, bin, filepath.Join(work, "w1-replacement"))
	c.load(rees46.CosmeticsPaths(dir))
	c.waitNoLag(processor.DefaultGroupID, c.topics.Inputs())
	c.waitNoLag(processor.DefaultSpaceGroupID, []string{c.topics.SpaceUpdates()})
	for _, w := range workers {
		w.stop(t)
	}

	cluster := c.restoreAll(t, filepath.Join(work, "audit"))
	reference := c.replayAll(t, filepath.Join(work, "replay"))
	if len(cluster) != len(reference) {
		t.Errorf("the cluster's changelogs hold %d rows, a replay %d", len(cluster), len(reference))
	}
	differ := 0
	for key, want := range reference {
		if !reflect.DeepEqual(cluster[key], want) {
			if differ < 3 {
				t.Errorf("row %s differs:\n cluster %.300s\n replay  %.300s", key, cluster[key], want)
			}
			differ++
		}
	}
	if differ > 0 {
		t.Errorf("%d of %d rows differ", differ, len(reference))
	}
	t.Logf("%d rows compared", len(reference))
}

// restoreAll starts one in-process worker in fresh consumer groups on an
// empty directory, so it restores every partition from the changelogs, and
// returns the rows it then holds.
func (c *cluster) restoreAll(t *testing.T, dataDir string) map[string][]byte {
	t.Helper()
	w, err := processor.New(processor.Config{
		Brokers:      c.brokers(),
		GroupID:      "audit-session",
		SpaceGroupID: "audit-space",
		Topics:       c.topics,
		DataDir:      dataDir,
		Projection:   projection.Config{ContactKey: []byte("integration-contact-key")},
		NoSync:       true,
		Clock:        c.clock,
		Log:          auditLog(t, dataDir+".log"),
	}, publish.New(c.nc), c.producer)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	c.waitNoLag("audit-session", c.topics.Inputs())
	c.waitNoLag("audit-space", []string{c.topics.SpaceUpdates()})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return storedRows(t, dataDir)
}

// auditLog returns a debug logger writing to path; when the test fails, its
// last lines are printed.
func auditLog(t *testing.T, path string) zerolog.Logger {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	printTailOnFailure(t, path)
	return zerolog.New(f).Level(zerolog.DebugLevel).With().Timestamp().Logger()
}

// printTailOnFailure prints the last lines above debug level of the log at
// path when the test fails. With GRIDSESSION_KEEP_LOGS=DIR set, it also
// copies the whole log into DIR.
func printTailOnFailure(t *testing.T, path string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		data, _ := os.ReadFile(path)
		if dir := os.Getenv("GRIDSESSION_KEEP_LOGS"); dir != "" {
			_ = os.WriteFile(filepath.Join(dir, filepath.Base(path)), data, 0o644)
		}
		var lines []string
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if !strings.Contains(line, `"level":"debug"`) {
				lines = append(lines, line)
			}
		}
		t.Logf("last lines of %s above debug level:\n%s", filepath.Base(path), strings.Join(lines[max(0, len(lines)-30):], "\n"))
	})
}

// replayAll folds the input topics once, in one process, into dataDir.
func (c *cluster) replayAll(t *testing.T, dataDir string) map[string][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, err := processor.Replay(ctx, processor.Config{
		Brokers:    c.brokers(),
		Topics:     c.topics,
		DataDir:    dataDir,
		Projection: projection.Config{ContactKey: []byte("integration-contact-key")},
		NoSync:     true,
		Clock:      c.clock,
		Log:        zerolog.Nop(),
	}, c.producer, nil)
	if err != nil {
		t.Fatal(err)
	}
	return storedRows(t, dataDir)
}
