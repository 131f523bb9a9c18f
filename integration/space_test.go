package integration

import (
	"context"
	"maps"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/ingest"
	"github.com/gridsession/gridsession/internal/rees46"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
	"github.com/gridsession/gridsession/schemas"
	"github.com/gridsession/gridsession/statestore"
)

// TestRebasedCosmeticsSpaceTotals loads the cosmetics files with their
// times rebased onto now and compares every space's cart totals and
// contact counts with a computation over the CSV rows whose carts are
// still live 30 minutes after their last change.
func TestRebasedCosmeticsSpaceTotals(t *testing.T) {
	dir, err := rees46.FindSampleDir()
	if err != nil {
		t.Skipf("REES46 samples not found (set %s): %v", rees46.SampleDirEnv, err)
	}
	files := rees46.CosmeticsPaths(dir)
	now := time.Now().UTC().Truncate(time.Second)

	c := newCluster(t)
	c.clock = func() time.Time { return now }
	c.start()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	summary, err := rees46.Load(ctx, files, rees46.LoadOptions{Brokers: c.brokers(), Topics: c.topics, Scan: rees46.Options{RebaseTo: now}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	c.waitNoLag(processor.DefaultGroupID, c.topics.Inputs())
	c.waitNoLag(processor.DefaultSpaceGroupID, []string{c.topics.SpaceUpdates()})
	c.stop()

	want := liveSpaceCarts(t, files, summary.Shift, now)
	got := c.spaces(now)
	live := 0
	for space, cart := range want {
		live += len(cart)
		if !maps.Equal(got[space], cart) {
			t.Errorf("space %s cart\n got %v\nwant %v", space, got[space], cart)
		}
	}
	for space, cart := range got {
		if _, ok := want[space]; !ok && len(cart) > 0 {
			t.Errorf("space %s has cart %v, the rows give none", space, cart)
		}
	}
	t.Logf("%d spaces, %d live products compared", len(want), live)
	if live == 0 {
		t.Error("no live cart: the comparison proves nothing")
	}
}

// waitNoLag waits until group has committed every record of topics.
func (c *cluster) waitNoLag(group string, topics []string) {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		lag, err := ingest.Lag(context.Background(), c.brokers(), group, topics)
		total := int64(0)
		for _, parts := range lag {
			for _, n := range parts {
				total += n
			}
		}
		if err == nil && total == 0 {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("group %s still %d records behind (per topic and partition %v, last error %v)", group, total, lag, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// spaces reads every stored space of a stopped worker and returns its cart
// totals at now, keyed by space id.
func (c *cluster) spaces(now time.Time) map[string]map[string]schemas.ProductTotal {
	c.t.Helper()
	out := map[string]map[string]schemas.ProductTotal{}
	for p := 0; p < partitions; p++ {
		dir := processor.SpaceStoreDir(c.dataDir, p)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		s, err := statestore.Open(dir, statestore.Options{NoSync: true})
		if err != nil {
			c.t.Fatal(err)
		}
		err = s.ScanAll(func(tenant, table, id string, value []byte) error {
			sp, err := projection.UnmarshalSpace(value)
			if err != nil {
				return err
			}
			if cart := sp.View(now.UnixMilli()).Cart; len(cart) > 0 {
				out[id] = cart
			}
			return nil
		})
		s.Close()
		if err != nil {
			c.t.Fatal(err)
		}
	}
	return out
}

// liveSpaceCarts computes from the CSV rows alone what each space's cart
// must hold at now: a session's cart is live when its last change, shifted
// by shift, is less than 30 minutes before now; its space is store-N with N
// the user_id of its first row modulo 10, and its contact is that user.
func liveSpaceCarts(t *testing.T, files []string, shift time.Duration, now time.Time) map[string]map[string]schemas.ProductTotal {
	t.Helper()
	type session struct {
		user       string
		cart       map[string]int64
		lastChange time.Time
	}
	sessions := map[string]*session{}
	eachRow(t, files, func(row map[string]string) {
		at, err := time.Parse("2006-01-02 15:04:05 MST", row["event_time"])
		if err != nil {
			t.Fatal(err)
		}
		s := sessions[row["user_session"]]
		if s == nil {
			s = &session{user: row["user_id"], cart: map[string]int64{}}
			sessions[row["user_session"]] = s
		}
		product := row["product_id"]
		before := maps.Clone(s.cart)
		switch row["event_type"] {
		case "cart":
			s.cart[product]++
		case "remove_from_cart":
			if s.cart[product] <= 1 {
				delete(s.cart, product)
			} else {
				s.cart[product]--
			}
		case "purchase":
			clear(s.cart)
		}
		if !maps.Equal(before, s.cart) {
			s.lastChange = at.Add(shift)
		}
	})

	holders := map[string]map[string]map[string]bool{}
	out := map[string]map[string]schemas.ProductTotal{}
	for _, s := range sessions {
		if len(s.cart) == 0 || !s.lastChange.Add(30*time.Minute).After(now) {
			continue
		}
		user, err := strconv.ParseUint(s.user, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		space := "store-" + strconv.FormatUint(user%10, 10)
		if out[space] == nil {
			out[space] = map[string]schemas.ProductTotal{}
			holders[space] = map[string]map[string]bool{}
		}
		for product, q := range s.cart {
			total := out[space][product]
			total.Quantity += q
			if holders[space][product] == nil {
				holders[space][product] = map[string]bool{}
			}
			holders[space][product][s.user] = true
			total.Contacts = int64(len(holders[space][product]))
			out[space][product] = total
		}
	}
	return out
}
