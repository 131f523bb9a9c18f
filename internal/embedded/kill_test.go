package embedded

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
)

// killHelperDirEnv names the environment variable that turns
// TestKafkaKillHelper into the broker process of TestKafkaSurvivesKill.
const killHelperDirEnv = "EMBEDDED_KILL_HELPER_DIR"

// TestKafkaKillHelper runs only as a child of TestKafkaSurvivesKill: it
// starts a persisted broker, writes records, commits a group offset, prints
// the broker address and waits to be killed.
func TestKafkaKillHelper(t *testing.T) {
	dir := os.Getenv(killHelperDirEnv)
	if dir == "" {
		t.Skip("runs only as the child process of TestKafkaSurvivesKill")
	}
	k, err := StartKafka(KafkaOptions{
		Addr:                   "127.0.0.1:0",
		DataDir:                dir,
		Topics:                 []string{"events"},
		Partitions:             2,
		GroupMinSessionTimeout: testGroupMinSessionTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter(k.Addr(), "events")
	for i := range 20 {
		writeMessages(t, w, kafka.Message{Key: fmt.Appendf(nil, "s%d", i), Value: fmt.Appendf(nil, "v%d", i)})
	}
	cg := newConsumerGroup(t, k.Addr(), "stage", []string{"events"})
	gen, err := cg.Next(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := gen.CommitOffsets(map[string]map[int]int64{"events": {0: 4}}); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ready %s\n", k.Addr())
	select {}
}

func TestKafkaSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKafkaKillHelper$", "-test.v")
	cmd.Env = append(os.Environ(), killHelperDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	lines := bufio.NewScanner(stdout)
	ready := false
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "ready ") {
			ready = true
			break
		}
	}
	if !ready {
		t.Fatalf("child broker exited before it was ready: %v", lines.Err())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill the child broker: %v", err)
	}
	cmd.Wait()

	k, err := StartKafka(KafkaOptions{
		Addr:                   "127.0.0.1:0",
		DataDir:                dir,
		Topics:                 []string{"events"},
		Partitions:             2,
		GroupMinSessionTimeout: testGroupMinSessionTimeout,
	})
	if err != nil {
		t.Fatalf("start on the data directory of a killed broker: %v", err)
	}
	defer k.Close()

	var got []string
	for p, n := range partitionSizes(k, "events") {
		for _, m := range readPartition(t, k.Addr(), "events", p, int(n)) {
			got = append(got, string(m.Value))
		}
	}
	if len(got) != 20 {
		t.Errorf("read %d records after the kill, expected the 20 acknowledged ones: %q", len(got), slices.Sorted(slices.Values(got)))
	}

	cg := newConsumerGroup(t, k.Addr(), "stage", []string{"events"})
	gen, err := cg.Next(testContext(t))
	if err != nil {
		t.Fatalf("generation after the kill: %v", err)
	}
	if _, offsets := assigned(gen, "events"); offsets[0] != 4 {
		t.Errorf("events[0] committed offset after the kill is %d, expected 4", offsets[0])
	}
}
