package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/projection"
)

// TestRestoreMemory measures a worker process restoring a session
// changelog of GRIDSESSION_RESTORE_SESSIONS rows (for example 100000 or
// 1000000): the restore time and the worker's peak resident memory. It is
// a measurement, not a check, so it runs only when that variable is set:
//
//	GRIDSESSION_RESTORE_SESSIONS=100000 go test -run TestRestoreMemory -v ./integration
func TestRestoreMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("GRIDSESSION_RESTORE_SESSIONS"))
	if n <= 0 {
		t.Skip("set GRIDSESSION_RESTORE_SESSIONS to measure a restore")
	}
	bin := buildBinary(t)
	c := newCluster(t)
	c.writeSessionChangelog(t, n)

	dataDir := filepath.Join(t.TempDir(), "w")
	started := time.Now()
	w := c.startProcess(t, bin, dataDir, "--log-level", "info")
	restored := waitLogLines(t, dataDir+".log", "partition restored", partitions, 10*time.Minute)
	took := time.Since(started)
	hwm := peakRSS(t, w.cmd.Process.Pid)
	w.stop(t)

	t.Logf("restored %d session rows over %d partitions in %s (%.0f rows/s, including process start and group join); worker peak RSS %d MiB",
		n, restored, took.Round(time.Millisecond), float64(n)/took.Seconds(), hwm>>10)
}

// writeSessionChangelog writes n session rows to the session changelog,
// spread over the partitions, with a marker after every 1000 rows.
func (c *cluster) writeSessionChangelog(t *testing.T, n int) {
	t.Helper()
	now := time.Date(2019, 10, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	w := &kafka.Writer{
		Addr:         kafka.TCP(c.brokers()...),
		Balancer:     kafka.BalancerFunc(func(m kafka.Message, _ ...int) int { return m.Partition }),
		BatchSize:    2000,
		BatchBytes:   4 << 20,
		BatchTimeout: 5 * time.Millisecond,
		RequiredAcks: kafka.RequireOne,
	}
	defer w.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	topic := c.topics.SessionChangelog()
	var msgs []kafka.Message
	for i := range n {
		id := fmt.Sprintf("%08x-8bb3-4e00-8c23-a032dfed738c", i)
		s := &projection.Session{
			Tenant: "rees46", ID: id, Known: true, SpaceID: "store-" + strconv.Itoa(i%10), ClientID: strconv.Itoa(500000000 + i),
			Cart: map[string]int64{"44600062": 1, "3900821": 2}, CartUpdated: now, Search: []string{"shoes", "red shoes"},
			LastActivity: now, Version: 3, Applied: 5, Seen: []string{"rees46-6b4691437a204c13-1", "rees46-6b4691437a204c13-2", "rees46-6b4691437a204c13-3"},
		}
		value, err := projection.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		p := i % partitions
		msgs = append(msgs, kafka.Message{Topic: topic, Partition: p, Key: []byte("rees46\x1fsession\x1f" + id), Value: value})
		if len(msgs) >= 1000 || i == n-1 {
			for q := range partitions {
				msgs = append(msgs, kafka.Message{Topic: topic, Partition: q, Key: []byte("\x00offsets"), Value: []byte("{}")})
			}
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				t.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
}

// waitLogLines waits until path holds want lines containing text and
// returns how many it found.
func waitLogLines(t *testing.T, path, text string, want int, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f, err := os.Open(path)
		if err == nil {
			found := 0
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				if strings.Contains(sc.Text(), text) {
					found++
				}
			}
			f.Close()
			if found >= want {
				return found
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q appeared fewer than %d times in %s within %s", text, want, path, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// peakRSS returns a process's peak resident set size in KiB (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kib, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kib
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
