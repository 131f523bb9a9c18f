package access

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/gridsession/gridsession/ingest"
)

// Create issues an access key for tenant, limited to spaces unless spaces
// is empty, and writes its record to the access-keys topic, which it
// creates when missing. It returns the browser id and the access key. Only
// the argon2id hash of the key is written, so the caller must show the key
// to its user now, because it cannot be recovered later.
func Create(ctx context.Context, brokers []string, topics ingest.Topics, tenant string, spaces []string) (browserID, secret string, err error) {
	if len(brokers) == 0 {
		return "", "", errNoBrokers
	}
	spaces, err = validateScope(tenant, spaces)
	if err != nil {
		return "", "", err
	}
	if browserID, err = newBrowserID(); err != nil {
		return "", "", err
	}
	if secret, err = newSecret(); err != nil {
		return "", "", err
	}
	hash, err := hashSecret(secret)
	if err != nil {
		return "", "", err
	}

	if err := ensureTopic(ctx, newClient(brokers), topics.AccessKeys()); err != nil {
		return "", "", err
	}
	rec := record{
		Key:  Key{BrowserID: browserID, TenantID: tenant, Spaces: spaces, Created: time.Now().UTC()},
		Hash: hash,
	}
	if err := writeRecord(ctx, brokers, topics.AccessKeys(), rec); err != nil {
		return "", "", err
	}
	return browserID, secret, nil
}

// List returns every key in the access-keys topic, revoked ones included,
// sorted by browser id. It reads the topic up to its end offsets, so the
// result includes every key written before the call.
func List(ctx context.Context, brokers []string, topics ingest.Topics) ([]Key, error) {
	r, err := loadRegistry(ctx, brokers, topics)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Keys(), nil
}

// Revoke writes the record of browserID again with revoked set and without
// the hash, and returns the revoked key. Every Registry rejects the key as
// soon as it has read that record. Revoking a revoked key writes nothing
// and returns the key with its first RevokedAt. Revoke returns an error
// wrapping ErrKeyNotFound when the topic has no key with browserID.
func Revoke(ctx context.Context, brokers []string, topics ingest.Topics, browserID string) (Key, error) {
	r, err := loadRegistry(ctx, brokers, topics)
	if err != nil {
		return Key{}, err
	}
	e := r.lookup(browserID)
	r.Close()
	if e == nil {
		return Key{}, fmt.Errorf("%w: browser id %q", ErrKeyNotFound, browserID)
	}
	if e.key.Revoked {
		return e.key, nil
	}

	k := e.key
	k.Revoked = true
	k.RevokedAt = time.Now().UTC()
	if err := writeRecord(ctx, brokers, topics.AccessKeys(), record{Key: k}); err != nil {
		return Key{}, err
	}
	return k, nil
}

// loadRegistry starts a Registry that has read the whole topic. The caller
// must close it.
func loadRegistry(ctx context.Context, brokers []string, topics ingest.Topics) (*Registry, error) {
	r := NewRegistry(brokers, topics, zerolog.Nop())
	if err := r.Start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// writeRecord writes rec to topic, keyed by its browser id, and waits until
// every in-sync replica has it.
func writeRecord(ctx context.Context, brokers []string, topic string, rec record) error {
	value, err := encodeRecord(rec)
	if err != nil {
		return fmt.Errorf("access: encode record of %s: %w", rec.BrowserID, err)
	}
	producer := ingest.NewProducer(brokers, zerolog.Nop())
	defer producer.Close()
	err = producer.Send(ctx, kafka.Message{Topic: topic, Key: []byte(rec.BrowserID), Value: value})
	if err != nil {
		return fmt.Errorf("access: write record of %s: %w", rec.BrowserID, err)
	}
	return nil
}
