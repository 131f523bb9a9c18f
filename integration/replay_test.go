package integration

import (
	"context"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/internal/rees46"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/statestore"
)

// TestReplayEqualsLiveState loads the real files into a live worker, then
// replays the log into a fresh directory: every stored session and space
// must be byte for byte the same.
func TestReplayEqualsLiveState(t *testing.T) {
	dir, err := rees46.FindSampleDir()
	if err != nil {
		t.Skipf("REES46 samples not found (set %s): %v", rees46.SampleDirEnv, err)
	}
	c := newCluster(t)
	c.start()
	c.load(append(rees46.MulticategoryPaths(dir), rees46.CosmeticsPaths(dir)...))
	c.waitNoLag(processor.DefaultGroupID, c.topics.Inputs())
	c.waitNoLag(processor.DefaultSpaceGroupID, []string{c.topics.SpaceUpdates()})
	c.stop()
	live := storedRows(t, c.dataDir)

	replayDir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	summary, err := processor.Replay(ctx, processor.Config{
		Brokers:    c.brokers(),
		Topics:     c.topics,
		DataDir:    replayDir,
		Projection: projection.Config{ContactKey: []byte("integration-contact-key")},
		NoSync:     true,
		Clock:      c.clock,
		Log:        zerolog.Nop(),
	}, c.producer, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("replayed %d of %d records in %s", summary.Records, summary.Total, summary.Took)
	replayed := storedRows(t, replayDir)

	if len(replayed) != len(live) {
		t.Errorf("replay stored %d rows, the live worker %d", len(replayed), len(live))
	}
	differ := 0
	for key, value := range live {
		if !reflect.DeepEqual(replayed[key], value) {
			if differ < 3 {
				t.Errorf("row %s differs:\n live   %.300s\n replay %.300s", key, value, replayed[key])
			}
			differ++
		}
	}
	if differ > 0 {
		t.Errorf("%d of %d rows differ", differ, len(live))
	}
}

// storedRows reads every row of both stages of a stopped worker, keyed by
// stage, tenant, table and id.
func storedRows(t *testing.T, dataDir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, stage := range []string{"session", "space"} {
		for p := 0; p < partitions; p++ {
			dir := processor.StoreDir(dataDir, p)
			if stage == "space" {
				dir = processor.SpaceStoreDir(dataDir, p)
			}
			if _, err := os.Stat(dir); err != nil {
				continue
			}
			s, err := statestore.Open(dir, statestore.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			err = s.ScanAll(func(tenant, table, id string, value []byte) error {
				out[stage+"/"+tenant+"/"+table+"/"+id] = append([]byte(nil), value...)
				return nil
			})
			s.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}
