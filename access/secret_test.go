package access

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/internal/embedded"
)

// TestSecretNeverStored issues keys and checks them with right and wrong
// secrets, also passing a secret as the browser id, tenant or space, and
// revokes a key. Then it searches every record on the broker, the broker's
// data directory and the registry's debug log for the secrets.
func TestSecretNeverStored(t *testing.T) {
	dataDir := t.TempDir()
	k, err := embedded.StartKafka(embedded.KafkaOptions{Addr: "127.0.0.1:0", DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	brokers := []string{k.Addr()}

	id, secret := createKey(t, brokers, "shop")
	limitedID, limitedSecret := createKey(t, brokers, "shop", "store-1")
	r, logs := startRegistry(t, brokers)
	ctx := testContext(t)
	wrong, _ := newSecret()

	checks := []struct{ browserID, secret, tenant, space string }{
		{id, secret, "shop", ""},
		{id, secret, "other", ""},
		{id, wrong, "shop", ""},
		{id, limitedSecret, "shop", "store-1"},
		{limitedID, limitedSecret, "shop", "store-2"},
		{secret, secret, "shop", ""},
		{id, secret, secret, ""},
		{limitedID, limitedSecret, "shop", limitedSecret},
		{"b-aaaaaaaaaaaaaaaaaaaa", secret, "shop", ""},
	}
	for _, c := range checks {
		_ = r.Check(ctx, c.browserID, c.secret, c.tenant, c.space)
	}
	if _, err := Revoke(ctx, brokers, testTopics, limitedID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "registry reads the revocation", func() bool {
		return r.Check(ctx, limitedID, limitedSecret, "shop", "store-1") != nil
	})

	secrets := map[string]string{"first": secret, "limited": limitedSecret}
	records := readAllRecords(t, brokers)
	// The searches must find what is meant to be there.
	for _, want := range []string{id, limitedID, "$argon2id$"} {
		if !bytes.Contains(records, []byte(want)) {
			t.Fatalf("records on the broker do not contain %q", want)
		}
	}
	for _, want := range []string{id, "wrong_access_key", "[hidden: looks like an access key]"} {
		if !bytes.Contains([]byte(logs.String()), []byte(want)) {
			t.Fatalf("registry log does not contain %q:\n%s", want, logs)
		}
	}
	for name, s := range secrets {
		assertNoSecret(t, "records on the broker", records, name, s)
		assertNoSecret(t, "registry log", []byte(logs.String()), name, s)
	}

	r.Close()
	k.Close()
	files := readTree(t, dataDir)
	if !bytes.Contains(files, []byte(id)) {
		t.Fatalf("broker data directory does not contain browser id %s", id)
	}
	for name, s := range secrets {
		assertNoSecret(t, "broker data directory", files, name, s)
	}
}

// assertNoSecret fails the test when data contains secret or its random
// part without the "gsk_" prefix.
func assertNoSecret(t *testing.T, where string, data []byte, name, secret string) {
	t.Helper()
	if bytes.Contains(data, []byte(secret)) {
		t.Errorf("%s contain the %s secret", where, name)
	}
	if bytes.Contains(data, []byte(secret[len(secretPrefix):])) {
		t.Errorf("%s contain the random part of the %s secret", where, name)
	}
}

// readAllRecords returns the keys, values and headers of every record of
// every topic on the brokers, concatenated.
func readAllRecords(t *testing.T, brokers []string) []byte {
	t.Helper()
	ctx := testContext(t)
	client := newClient(brokers)
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		t.Fatalf("list topics: %v", err)
	}
	var all bytes.Buffer
	topics := 0
	for _, topic := range meta.Topics {
		topics++
		ranges, err := partitionRanges(ctx, client, topic.Name)
		if err != nil {
			t.Fatalf("offsets of %s: %v", topic.Name, err)
		}
		for _, p := range ranges {
			readRange(ctx, t, brokers, topic.Name, p, &all)
		}
	}
	if topics == 0 {
		t.Fatal("broker lists no topics")
	}
	return all.Bytes()
}

func readRange(ctx context.Context, t *testing.T, brokers []string, topic string, p partitionRange, out *bytes.Buffer) {
	t.Helper()
	if p.first >= p.end {
		return
	}
	reader := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p.id, MaxWait: 100 * time.Millisecond})
	defer reader.Close()
	if err := reader.SetOffset(p.first); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := reader.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("read %s/%d: %v", topic, p.id, err)
		}
		out.Write(m.Key)
		out.Write(m.Value)
		for _, h := range m.Headers {
			out.WriteString(h.Key)
			out.Write(h.Value)
		}
		if m.Offset+1 >= p.end {
			return
		}
	}
}

// readTree returns the contents of every file under dir, concatenated.
func readTree(t *testing.T, dir string) []byte {
	t.Helper()
	var all bytes.Buffer
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		all.Write(b)
		return err
	})
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	return all.Bytes()
}
