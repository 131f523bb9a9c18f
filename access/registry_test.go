package access

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/internal/embedded"
)

func TestCheckAcceptsCreatedKey(t *testing.T) {
	brokers := startKafka(t)
	id, secret := createKey(t, brokers, "shop")
	r, _ := startRegistry(t, brokers)
	ctx := testContext(t)

	if err := r.Check(ctx, id, secret, "shop", ""); err != nil {
		t.Errorf("tenant-wide read: %v", err)
	}
	if err := r.Check(ctx, id, secret, "shop", "store-1"); err != nil {
		t.Errorf("read of space store-1: %v", err)
	}
}

func TestCheckRejects(t *testing.T) {
	brokers := startKafka(t)
	id, secret := createKey(t, brokers, "shop")
	limitedID, limitedSecret := createKey(t, brokers, "shop", "store-1", "store-2")
	revokedID, revokedSecret := createKey(t, brokers, "shop")
	if _, err := Revoke(testContext(t), brokers, testTopics, revokedID); err != nil {
		t.Fatal(err)
	}
	wrongSecret, _ := newSecret()
	r, _ := startRegistry(t, brokers)

	cases := []struct {
		name      string
		browserID string
		secret    string
		tenant    string
		space     string
		want      error
	}{
		{"wrong secret", id, wrongSecret, "shop", "", ErrUnauthorized},
		{"malformed secret", id, "password", "shop", "", ErrUnauthorized},
		{"empty secret", id, "", "shop", "", ErrUnauthorized},
		{"secret of other key", id, limitedSecret, "shop", "store-1", ErrUnauthorized},
		{"unknown browser id", "b-aaaaaaaaaaaaaaaaaaaa", secret, "shop", "", ErrUnauthorized},
		{"malformed browser id", "b 1", secret, "shop", "", ErrUnauthorized},
		{"revoked key", revokedID, revokedSecret, "shop", "", ErrUnauthorized},
		{"other tenant", id, secret, "other", "", ErrForbidden},
		{"unlisted space", limitedID, limitedSecret, "shop", "store-3", ErrForbidden},
		{"tenant-wide read of limited key", limitedID, limitedSecret, "shop", "", ErrForbidden},
		{"listed space of other tenant", limitedID, limitedSecret, "other", "store-1", ErrForbidden},
		{"listed space", limitedID, limitedSecret, "shop", "store-2", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := r.Check(testContext(t), c.browserID, c.secret, c.tenant, c.space)
			if !errors.Is(err, c.want) {
				t.Errorf("Check = %v, expected %v", err, c.want)
			}
		})
	}
}

func TestRevokeReachesRunningRegistry(t *testing.T) {
	brokers := startKafka(t)
	id, secret := createKey(t, brokers, "shop")
	r, logs := startRegistry(t, brokers)
	ctx := testContext(t)

	// The first check fills the verification cache, which the revocation
	// must bypass.
	if err := r.Check(ctx, id, secret, "shop", ""); err != nil {
		t.Fatalf("check before revocation: %v", err)
	}
	if _, err := Revoke(ctx, brokers, testTopics, id); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	var err error
	waitFor(t, 3*time.Second, "running registry rejects the revoked key", func() bool {
		err = r.Check(ctx, id, secret, "shop", "")
		return err != nil
	})
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("check after revocation = %v, expected %v", err, ErrUnauthorized)
	}
	if !strings.Contains(logs.String(), "access key revoked") {
		t.Errorf("log does not record the revocation:\n%s", logs)
	}
}

func TestCreateReachesRunningRegistry(t *testing.T) {
	brokers := startKafka(t)
	r, _ := startRegistry(t, brokers)
	ctx := testContext(t)

	id, secret := createKey(t, brokers, "shop")
	waitFor(t, 3*time.Second, "running registry accepts the new key", func() bool {
		return r.Check(ctx, id, secret, "shop", "") == nil
	})
}

func TestRateLimitBlocksAndReleases(t *testing.T) {
	brokers := startKafka(t)
	id, secret := createKey(t, brokers, "shop")
	clock := &fakeClock{now: t0}
	r, logs := startRegistry(t, brokers, WithClock(clock.Now), WithFailureLimit(3, time.Minute))
	ctx := testContext(t)
	wrong, _ := newSecret()

	for i := range 3 {
		if err := r.Check(ctx, id, wrong, "shop", ""); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("failure %d: %v, expected %v", i+1, err, ErrUnauthorized)
		}
		clock.Advance(time.Second)
	}
	if err := r.Check(ctx, id, secret, "shop", ""); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("right secret after 3 failures: %v, expected %v", err, ErrRateLimited)
	}
	if err := r.Check(ctx, id, wrong, "shop", ""); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("wrong secret after 3 failures: %v, expected %v", err, ErrRateLimited)
	}
	if !strings.Contains(logs.String(), `"reason":"rate_limited"`) {
		t.Errorf("log has no rate_limited rejection:\n%s", logs)
	}

	// The window started at the first failure, 3 seconds ago.
	clock.Advance(time.Minute - 3*time.Second)
	if err := r.Check(ctx, id, secret, "shop", ""); err != nil {
		t.Errorf("right secret after the window: %v", err)
	}
}

func TestRateLimitCoversUnknownIDs(t *testing.T) {
	brokers := startKafka(t)
	r, _ := startRegistry(t, brokers, WithFailureLimit(2, time.Minute))
	ctx := testContext(t)
	unknown := "b-aaaaaaaaaaaaaaaaaaaa"
	secret, _ := newSecret()

	for range 2 {
		if err := r.Check(ctx, unknown, secret, "shop", ""); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("unknown browser id: %v, expected %v", err, ErrUnauthorized)
		}
	}
	// An unknown id is limited like a known one, so the errors do not
	// tell them apart.
	if err := r.Check(ctx, unknown, secret, "shop", ""); !errors.Is(err, ErrRateLimited) {
		t.Errorf("unknown browser id after 2 failures: %v, expected %v", err, ErrRateLimited)
	}
}

func TestCachedKeyPassesDuringLockout(t *testing.T) {
	brokers := startKafka(t)
	id, secret := createKey(t, brokers, "shop")
	clock := &fakeClock{now: t0}
	r, _ := startRegistry(t, brokers, WithClock(clock.Now), WithFailureLimit(2, time.Minute), WithCacheTTL(time.Minute))
	ctx := testContext(t)
	wrong, _ := newSecret()

	if err := r.Check(ctx, id, secret, "shop", ""); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_ = r.Check(ctx, id, wrong, "shop", "")
	}
	if err := r.Check(ctx, id, secret, "shop", ""); err != nil {
		t.Errorf("cached key during lockout: %v, expected it to pass", err)
	}

	// Once the cache entry has expired, the lockout applies to the right
	// secret too.
	clock.Advance(time.Minute)
	for range 2 {
		_ = r.Check(ctx, id, wrong, "shop", "")
	}
	if err := r.Check(ctx, id, secret, "shop", ""); !errors.Is(err, ErrRateLimited) {
		t.Errorf("right secret after the cache expired: %v, expected %v", err, ErrRateLimited)
	}
}

func TestRegistryStartedLaterReadsAll(t *testing.T) {
	brokers := startKafka(t)
	type issued struct{ id, secret string }
	var keys []issued
	for _, tenant := range []string{"shop", "shop", "outlet"} {
		id, secret := createKey(t, brokers, tenant)
		keys = append(keys, issued{id, secret})
	}
	if _, err := Revoke(testContext(t), brokers, testTopics, keys[1].id); err != nil {
		t.Fatal(err)
	}

	first, _ := startRegistry(t, brokers)
	second, _ := startRegistry(t, brokers)
	ctx := testContext(t)
	for i, r := range []*Registry{first, second} {
		if n := len(r.Keys()); n != 3 {
			t.Errorf("registry %d has %d keys, expected 3", i+1, n)
		}
		if err := r.Check(ctx, keys[0].id, keys[0].secret, "shop", ""); err != nil {
			t.Errorf("registry %d, first key: %v", i+1, err)
		}
		if err := r.Check(ctx, keys[1].id, keys[1].secret, "shop", ""); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("registry %d, revoked key: %v, expected %v", i+1, err, ErrUnauthorized)
		}
		if err := r.Check(ctx, keys[2].id, keys[2].secret, "outlet", ""); err != nil {
			t.Errorf("registry %d, third key: %v", i+1, err)
		}
	}
}

func TestRegistryReadsAfterCompaction(t *testing.T) {
	k := embedded.KafkaForTest(t, nil, 1)
	brokers := []string{k.Addr()}
	id, secret := createKey(t, brokers, "shop")
	revokedID, revokedSecret := createKey(t, brokers, "shop")
	if _, err := Revoke(testContext(t), brokers, testTopics, revokedID); err != nil {
		t.Fatal(err)
	}
	k.Cluster().Compact()

	r, _ := startRegistry(t, brokers)
	ctx := testContext(t)
	if err := r.Check(ctx, id, secret, "shop", ""); err != nil {
		t.Errorf("key after compaction: %v", err)
	}
	if err := r.Check(ctx, revokedID, revokedSecret, "shop", ""); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("revoked key after compaction: %v, expected %v", err, ErrUnauthorized)
	}
}

func TestStartCreatesCompactedTopic(t *testing.T) {
	k := embedded.KafkaForTest(t, nil, 4)
	startRegistry(t, []string{k.Addr()})

	info := k.Cluster().TopicInfo(testTopics.AccessKeys())
	if info == nil {
		t.Fatalf("topic %s not created", testTopics.AccessKeys())
	}
	if v := info.Configs["cleanup.policy"]; v == nil || *v != "compact" {
		t.Errorf("cleanup.policy is %v, expected compact", v)
	}
	if n := len(k.Cluster().PartitionInfos(testTopics.AccessKeys())); n != 1 {
		t.Errorf("topic has %d partitions, expected 1", n)
	}
}

func TestStartWarnsOfUncompactedTopic(t *testing.T) {
	k := embedded.KafkaForTest(t, nil, 1)
	if err := k.EnsureTopic(testTopics.AccessKeys(), 1, map[string]string{"cleanup.policy": "delete"}); err != nil {
		t.Fatal(err)
	}
	_, logs := startRegistry(t, []string{k.Addr()})
	if !strings.Contains(logs.String(), "cleanup.policy=delete") {
		t.Errorf("log does not warn of cleanup.policy=delete:\n%s", logs)
	}
}

func TestRegistryReadsEveryPartition(t *testing.T) {
	k := embedded.KafkaForTest(t, nil, 1)
	brokers := []string{k.Addr()}
	if err := k.EnsureTopic(testTopics.AccessKeys(), 3, map[string]string{"cleanup.policy": "compact"}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 6 {
		id, _ := createKey(t, brokers, "shop")
		ids = append(ids, id)
	}
	slices.Sort(ids)

	r, _ := startRegistry(t, brokers)
	var got []string
	for _, key := range r.Keys() {
		got = append(got, key.BrowserID)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("registry has keys %q, expected %q", got, ids)
	}
}

func TestInvalidRecordDisablesKey(t *testing.T) {
	brokers := startKafka(t)
	id, secret := createKey(t, brokers, "shop")
	r, logs := startRegistry(t, brokers)
	ctx := testContext(t)

	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: testTopics.AccessKeys(), RequiredAcks: kafka.RequireAll}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte(id), Value: []byte(`{"browserId":"` + id + `"}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "registry rejects a key whose latest record is invalid", func() bool {
		return errors.Is(r.Check(ctx, id, secret, "shop", ""), ErrUnauthorized)
	})
	if !strings.Contains(logs.String(), "invalid access key record") {
		t.Errorf("log does not report the invalid record:\n%s", logs)
	}
}

func TestCheckBeforeStartAndAfterClose(t *testing.T) {
	brokers := startKafka(t)
	id, secret := createKey(t, brokers, "shop")
	r := NewRegistry(brokers, testTopics, zerolog.Nop())
	ctx := testContext(t)

	if err := r.Check(ctx, id, secret, "shop", ""); !errors.Is(err, ErrNotStarted) {
		t.Errorf("check before Start: %v, expected %v", err, ErrNotStarted)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err == nil {
		t.Error("second Start succeeded, expected an error")
	}
	r.Close()
	r.Close()
	if err := r.Check(ctx, id, secret, "shop", ""); !errors.Is(err, ErrClosed) {
		t.Errorf("check after Close: %v, expected %v", err, ErrClosed)
	}
}

func TestCheckAfterStartContextEnds(t *testing.T) {
	brokers := startKafka(t)
	id, secret := createKey(t, brokers, "shop")
	r := NewRegistry(brokers, testTopics, zerolog.Nop())
	defer r.Close()
	ctx, cancel := context.WithCancel(testContext(t))

	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := r.Check(testContext(t), id, secret, "shop", ""); !errors.Is(err, ErrClosed) {
		t.Errorf("check after the Start context ended: %v, expected %v", err, ErrClosed)
	}
}

func TestStartFailsWithoutBroker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	r := NewRegistry([]string{addr}, testTopics, zerolog.Nop())
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	started := time.Now()
	err = r.Start(ctx)
	if err == nil {
		t.Fatal("Start without a broker succeeded")
	}
	if took := time.Since(started); took > 5*time.Second {
		t.Errorf("Start took %s to fail, expected the 3s context to bound it", took)
	}
	if !strings.Contains(err.Error(), "access-keys") {
		t.Errorf("error %q does not name the topic", err)
	}
}

func TestStartTimesOutBehindTopic(t *testing.T) {
	k := embedded.KafkaForTest(t, nil, 1)
	brokers := []string{k.Addr()}
	createKey(t, brokers, "shop")
	r := NewRegistry(brokers, testTopics, zerolog.Nop(), WithStartTimeout(time.Nanosecond))
	defer r.Close()

	err := r.Start(testContext(t))
	if err == nil {
		t.Skip("the registry read the topic within a nanosecond")
	}
	if !strings.Contains(err.Error(), "not caught up within") || !strings.Contains(err.Error(), "partition 0") {
		t.Errorf("error %q does not say which partition is behind", err)
	}
}

func TestStartRejectsInvalidOptions(t *testing.T) {
	brokers := []string{"127.0.0.1:1"}
	cases := []struct {
		name string
		opt  Option
		want string
	}{
		{"nil clock", WithClock(nil), "WithClock needs a function"},
		{"zero timeout", WithStartTimeout(0), "invalid start timeout 0s"},
		{"zero failures", WithFailureLimit(0, time.Minute), "invalid failure limit 0"},
		{"zero window", WithFailureLimit(5, 0), "invalid failure window 0s"},
		{"negative TTL", WithCacheTTL(-time.Second), "invalid cache TTL -1s"},
	}
	for _, c := range cases {
		r := NewRegistry(brokers, testTopics, zerolog.Nop(), c.opt)
		if err := r.Start(testContext(t)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Start = %v, expected an error containing %q", c.name, err, c.want)
		}
		r.Close()
	}
}

func TestRejectionsWithoutHashing(t *testing.T) {
	brokers := startKafka(t)
	id, secret := createKey(t, brokers, "shop")
	revokedID, revokedSecret := createKey(t, brokers, "shop")
	if _, err := Revoke(testContext(t), brokers, testTopics, revokedID); err != nil {
		t.Fatal(err)
	}
	r, _ := startRegistry(t, brokers, WithMaxConcurrentHashes(1), WithFailureLimit(2, time.Minute))
	wrong, _ := newSecret()
	for range 2 {
		_ = r.Check(testContext(t), id, wrong, "shop", "")
	}

	// With the only hashing slot taken, a check that hashed would wait
	// until its context ends.
	r.hashSlots <- struct{}{}
	defer func() { <-r.hashSlots }()
	cases := []struct {
		name      string
		browserID string
		secret    string
		want      error
	}{
		{"rate limited", id, secret, ErrRateLimited},
		{"unknown browser id", "b-aaaaaaaaaaaaaaaaaaaa", secret, ErrUnauthorized},
		{"revoked key", revokedID, revokedSecret, ErrUnauthorized},
	}
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := r.Check(ctx, c.browserID, c.secret, "shop", "")
		cancel()
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Check = %v, expected %v without hashing", c.name, err, c.want)
		}
	}
}

func TestCheckWaitsForHashSlot(t *testing.T) {
	brokers := startKafka(t)
	id, secret := createKey(t, brokers, "shop")
	r, _ := startRegistry(t, brokers, WithMaxConcurrentHashes(1), WithFailureLimit(1, time.Minute))

	r.hashSlots <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.Check(ctx, id, secret, "shop", ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("check with every slot taken: %v, expected %v", err, context.DeadlineExceeded)
	}
	<-r.hashSlots

	// The timed-out check is not a failure, so the limit of 1 is not
	// reached.
	if err := r.Check(testContext(t), id, secret, "shop", ""); err != nil {
		t.Errorf("check after a slot was freed: %v", err)
	}
}
