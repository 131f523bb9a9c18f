package integration

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"maps"
	"os"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gridsession/gridsession/internal/rees46"
	"github.com/gridsession/gridsession/processor"
	"github.com/gridsession/gridsession/projection"
)

// TestRealFilesFoldToIndependentCarts loads every REES46 sample file through
// the load command's code path into a running worker and compares each
// session's cart with a fold of the CSV rows written here from the row
// mapping alone. It then loads the cosmetics files again, which must change
// no state at all.
func TestRealFilesFoldToIndependentCarts(t *testing.T) {
	dir, err := rees46.FindSampleDir()
	if err != nil {
		t.Skipf("REES46 samples not found (set %s): %v", rees46.SampleDirEnv, err)
	}
	files := append(rees46.MulticategoryPaths(dir), rees46.CosmeticsPaths(dir)...)

	c := newCluster(t)
	c.start()
	summary := c.load(files)
	if summary.Rows != 17_434+4_995 {
		t.Errorf("loaded %d rows, want %d", summary.Rows, 17_434+4_995)
	}
	c.waitNoLag(processor.DefaultGroupID, c.topics.Inputs())
	c.stop()

	want := foldCarts(t, files)
	got := c.sessions()
	if len(got) != len(want) {
		t.Errorf("worker has %d sessions, the independent fold %d", len(got), len(want))
	}
	mismatches, nonEmpty := 0, 0
	for id, cart := range want {
		if len(cart) > 0 {
			nonEmpty++
		}
		s := got["rees46/"+id]
		if s == nil {
			t.Errorf("session %s missing from the worker's state", id)
			continue
		}
		if !maps.Equal(s.View().Cart, cart) && mismatches < 10 {
			mismatches++
			t.Errorf("session %s cart %v, independent fold %v", id, s.View().Cart, cart)
		}
	}

	t.Logf("%d sessions compared, %d with a non-empty cart", len(want), nonEmpty)
	if nonEmpty == 0 {
		t.Error("no session has a cart: the comparison proves nothing")
	}

	before := encodeAll(t, got)
	c.start()
	c.load(rees46.CosmeticsPaths(dir))
	c.waitNoLag(processor.DefaultGroupID, c.topics.Inputs())
	c.stop()
	after := encodeAll(t, c.sessions())
	if !reflect.DeepEqual(before, after) {
		changed := 0
		for id := range before {
			if string(before[id]) != string(after[id]) {
				if changed == 0 {
					t.Logf("first change, %s:\nbefore %s\nafter  %s", id, before[id], after[id])
				}
				changed++
			}
		}
		t.Errorf("loading the cosmetics files twice changed %d sessions", changed)
	}
}

func (c *cluster) load(files []string) rees46.Summary {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	summary, err := rees46.Load(ctx, files, rees46.LoadOptions{Brokers: c.brokers(), Topics: c.topics}, zerolog.Nop())
	if err != nil {
		c.t.Fatal(err)
	}
	return summary
}

func encodeAll(t *testing.T, sessions map[string]*projection.Session) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for id, s := range sessions {
		b, err := projection.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = b
	}
	return out
}

// canonicalUUID matches the session ids the loader accepts; the one damaged
// id in the cosmetics files fails it.
var canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// foldCarts folds the rows of files into carts by session: cart adds one,
// remove_from_cart takes one away and drops the product at zero, purchase
// empties the cart. Every accepted session appears, with an empty cart if
// it has none.
func foldCarts(t *testing.T, files []string) map[string]map[string]int64 {
	t.Helper()
	carts := map[string]map[string]int64{}
	eachRow(t, files, func(row map[string]string) {
		session, product := row["user_session"], row["product_id"]
		cart := carts[session]
		if cart == nil {
			cart = map[string]int64{}
			carts[session] = cart
		}
		switch row["event_type"] {
		case "cart":
			cart[product]++
		case "remove_from_cart":
			if cart[product] <= 1 {
				delete(cart, product)
			} else {
				cart[product]--
			}
		case "purchase":
			clear(cart)
		}
	})
	return carts
}

// eachRow calls fn with every row of the CSV files, by column name, in file
// order, leaving out rows whose user_session is not a canonical UUID, as the
// loader does.
func eachRow(t *testing.T, files []string, fn func(row map[string]string)) {
	t.Helper()
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(f)
		r.FieldsPerRecord = -1
		header, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		for {
			fields, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			row := make(map[string]string, len(header))
			for i, name := range header {
				if i < len(fields) {
					row[name] = fields[i]
				}
			}
			if canonicalUUID.MatchString(row["user_session"]) {
				fn(row)
			}
		}
		f.Close()
	}
}
