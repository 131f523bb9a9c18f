package integration

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/access"
	"github.com/gridsession/gridsession/client"
	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/schemas"
)

// rebalanceWait bounds the wait for a consumer group to settle and for the
// gets to return the same values after a rebalance.
const rebalanceWait = 90 * time.Second

// buildGridsession builds cmd/gridsession into a temporary directory.
func buildGridsession(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gridsession")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gridsession")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build gridsession: %v\n%s", err, out)
	}
	return bin
}

// workerProcess is one "gridsession run" process.
type workerProcess struct {
	name string
	cmd  *exec.Cmd
	log  string
	// exited is closed when the process has exited, and err is then the
	// result of its Wait.
	exited chan struct{}
	err    error
}

// startWorkerProcess runs "gridsession run" on the cluster's servers with
// its own data directory, and kills it when the test ends if it still
// runs.
func startWorkerProcess(t *testing.T, c *cluster, bin, name string) *workerProcess {
	t.Helper()
	dir := t.TempDir()
	p := &workerProcess{name: name, log: filepath.Join(dir, "worker.log"), exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "run",
		"--kafka", strings.Join(c.brokers(), ","), "--nats", c.nc.ConnectedUrl(),
		"--data-dir", filepath.Join(dir, "data"), "--topic-prefix", c.topics.Prefix, "--log-level", "info")
	p.cmd.Env = append(os.Environ(), "GRIDSESSION_CONTACT_KEY=integration-contact-key")
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			out, _ := os.ReadFile(p.log)
			t.Logf("log of %s:\n%s", p.name, out)
		}
	})
	return p
}

// terminate sends SIGTERM and waits for a clean exit.
func (p *workerProcess) terminate(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("%s exited with %v after SIGTERM", p.name, p.err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not stop within 60s of SIGTERM", p.name)
	}
}

// groupAssignment returns the partitions of the first topic of each member
// of group, keyed by member id, once the group is stable.
func groupAssignment(t *testing.T, c *cluster, group, topic string) (map[string][]int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kc := &kafka.Client{Addr: kafka.TCP(c.brokers()...), Timeout: 10 * time.Second}
	resp, err := kc.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		return nil, err
	}
	if len(resp.Groups) != 1 || resp.Groups[0].Error != nil {
		return nil, fmt.Errorf("describe group %s: %+v", group, resp.Groups)
	}
	g := resp.Groups[0]
	if g.GroupState != "Stable" {
		return nil, fmt.Errorf("group %s is %s", group, g.GroupState)
	}
	out := map[string][]int{}
	for _, m := range g.Members {
		for _, tp := range m.MemberAssignments.Topics {
			if tp.Topic == topic {
				out[m.MemberID] = slices.Sorted(slices.Values(tp.Partitions))
			}
		}
	}
	return out, nil
}

// waitMembers waits until both stages' groups are stable with members
// members that each own at least one partition, and returns the session
// stage's assignment.
func waitMembers(t *testing.T, c *cluster, members int) map[string][]int {
	t.Helper()
	deadline := time.Now().Add(rebalanceWait)
	for {
		sessions, err := groupAssignment(t, c, processor.DefaultGroupID, c.topics.Events())
		if err == nil {
			var spaces map[string][]int
			spaces, err = groupAssignment(t, c, processor.DefaultSpaceGroupID, c.topics.SpaceUpdates())
			if err == nil && everyMemberOwns(sessions, members) && everyMemberOwns(spaces, members) {
				return sessions
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer groups did not settle on %d members within %s: session stage %v, last error %v", members, rebalanceWait, sessions, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func everyMemberOwns(assignment map[string][]int, members int) bool {
	if len(assignment) != members {
		return false
	}
	for _, partitions := range assignment {
		if len(partitions) == 0 {
			return false
		}
	}
	return true
}

// TestTwoWorkerProcessesAnswerGets runs two worker processes of the real
// binary, sends sessions to every partition through the Session API
// client and checks the gets of the sessions and spaces of both workers.
// It then stops one worker with SIGTERM and checks that, once the other
// owns every partition, the same gets return the same values, and that no
// get ever returns another session's data.
func TestTwoWorkerProcessesAnswerGets(t *testing.T) {
	bin := buildGridsession(t)
	c := newCluster(t)
	first := startWorkerProcess(t, c, bin, "worker-1")
	second := startWorkerProcess(t, c, bin, "worker-2")
	assignment := waitMembers(t, c, 2)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	partitionCount, err := ingest.PartitionCount(ctx, c.brokers(), []string{c.topics.Events()})
	if err != nil {
		t.Fatal(err)
	}
	user, password, err := access.Create(ctx, c.brokers(), c.topics, "shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	api := newAPIClient(t, c, "shop")

	// Three sessions on every partition, in three spaces.
	want := map[string]schemas.SessionState{}
	perPartition := map[int]int{}
	spaces := map[string]map[string]schemas.ProductTotal{}
	now := time.Now().UTC().Format(time.RFC3339)
	for i := 0; len(want) < 3*partitionCount && i < 1000; i++ {
		id := fmt.Sprint("s-", i)
		partition := murmurPartition(id, partitionCount)
		if perPartition[partition] == 3 {
			continue
		}
		perPartition[partition]++
		space := fmt.Sprint("store-", len(want)%3)
		product := fmt.Sprint("p-", i)
		quantity := int64(len(want) + 1)

		sendSessionRecord(t, ctx, api, id, space, now)
		for _, e := range []schemas.Event{
			{EventType: schemas.EventCartAdd, ProductID: product, Int1: int64p(quantity)},
			{EventType: schemas.EventSearch, Str1: stringp("query " + id)},
		} {
			e.SessionID, e.ClientID, e.EventTime = id, "c-"+id, now
			if err := api.SendEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		want[id] = schemas.SessionState{Cart: map[string]int64{product: quantity}, Search: []string{"query " + id}}
		if spaces[space] == nil {
			spaces[space] = map[string]schemas.ProductTotal{}
		}
		spaces[space][product] = schemas.ProductTotal{Quantity: quantity, Contacts: 1}
	}

	// Both workers own partitions and every partition has sessions, so the
	// gets below reach both.
	if len(perPartition) != partitionCount {
		t.Fatalf("sessions on %d of %d partitions", len(perPartition), partitionCount)
	}
	t.Logf("session stage assignment %v; %d sessions over %d partitions", assignment, len(want), partitionCount)

	waitSameAnswers(t, api, user, password, want, spaces, "with two workers")

	first.terminate(t)
	assignment = waitMembers(t, c, 1)
	t.Logf("session stage assignment after SIGTERM: %v", assignment)
	waitSameAnswers(t, api, user, password, want, spaces, "after one worker stopped")

	second.terminate(t)
}

func sendSessionRecord(t *testing.T, ctx context.Context, api *client.Client, id, space, now string) {
	t.Helper()
	err := api.SendSession(ctx, schemas.Session{SessionID: id, SessionCreated: now, Environment: "production", Country: "DE",
		SpaceID: space, AppID: "kiosk", AppVersion: "1", InstallationID: "i-" + id, InstallationVersion: "1",
		DeviceID: "d-" + id, ClientID: "c-" + id})
	if err != nil {
		t.Fatal(err)
	}
}

// waitSameAnswers polls the gets of every session and space until they
// return want and spaces. It fails the test when a get returns another
// session's product or search, or after rebalanceWait.
func waitSameAnswers(t *testing.T, api *client.Client, user, password string, want map[string]schemas.SessionState,
	spaces map[string]map[string]schemas.ProductTotal, when string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rebalanceWait)
	defer cancel()
	deadline := time.Now().Add(rebalanceWait)
	for attempt := 1; ; attempt++ {
		differ := []string{}
		for id, state := range want {
			answer, err := api.GetSessionState(ctx, id)
			if err != nil {
				t.Fatalf("%s: get %s: %v", when, id, err)
			}
			got := answer.Session
			for product := range got.Cart {
				if _, ok := state.Cart[product]; !ok {
					t.Fatalf("%s: session %s answered product %s of another session: %+v", when, id, product, got)
				}
			}
			for _, query := range got.Search {
				if !slices.Contains(state.Search, query) {
					t.Fatalf("%s: session %s answered search %q of another session: %+v", when, id, query, got)
				}
			}
			if !sameState(got, state) {
				differ = append(differ, fmt.Sprintf("session %s: %+v", id, got))
			}
		}
		for space, cart := range spaces {
			got, err := api.GetSpaceStateBySpace(ctx, user, password, space)
			if err != nil {
				t.Fatalf("%s: get space %s: %v", when, space, err)
			}
			if !maps.Equal(got.Cart, cart) {
				differ = append(differ, fmt.Sprintf("space %s: %+v", space, got.Cart))
			}
		}
		if len(differ) == 0 {
			t.Logf("%s: every get answered as expected in polling round %d", when, attempt)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d answers still differ after %s, such as %s", when, len(differ), rebalanceWait, differ[0])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func sameState(a, b schemas.SessionState) bool {
	return maps.Equal(a.Cart, b.Cart) && slices.Equal(a.Search, b.Search)
}
