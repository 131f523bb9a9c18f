// Package ingest moves records between Kafka and the processor: the consumer
// group of the session stage, the per-partition readers, the producer that
// writes records with the murmur2 partitioner, and the dead-letter writer.
package ingest

import "fmt"

// DefaultPrefix is the topic prefix used when none is configured.
const DefaultPrefix = "gridsession"

// Topics names the Kafka topics of one deployment. The clients, sessions and
// events topics must have the same partition count, because the session
// stage reads partition N of all three in one loop.
type Topics struct {
	// Prefix starts every topic name; empty means DefaultPrefix.
	Prefix string
}

func (t Topics) prefix() string {
	if t.Prefix == "" {
		return DefaultPrefix
	}
	return t.Prefix
}

// Clients is the topic of client records, keyed by clientId.
func (t Topics) Clients() string { return t.prefix() + ".clients" }

// Sessions is the topic of session records, keyed by sessionId.
func (t Topics) Sessions() string { return t.prefix() + ".sessions" }

// Events is the topic of event records, keyed by sessionId.
func (t Topics) Events() string { return t.prefix() + ".events" }

// DLQ is the dead-letter topic: rejected records with the reason and their
// source coordinates in headers.
func (t Topics) DLQ() string { return t.prefix() + ".dlq" }

// AccessKeys is the compacted topic of access key records, keyed by
// browser id. Every worker reads all of it, so it is in neither Inputs nor
// All.
func (t Topics) AccessKeys() string { return t.prefix() + ".access-keys" }

// Inputs lists the topics the session stage consumes.
func (t Topics) Inputs() []string { return []string{t.Clients(), t.Sessions(), t.Events()} }

// SessionChangelog is the compacted changelog of the session stage's state:
// partition N records the state of session-stage partition N.
func (t Topics) SessionChangelog() string { return t.prefix() + ".session-changelog" }

// SpaceChangelog is the compacted changelog of the space stage's state.
func (t Topics) SpaceChangelog() string { return t.prefix() + ".space-changelog" }

// All lists every topic a worker needs to exist.
func (t Topics) All() []string {
	return append(t.Inputs(), t.DLQ(), t.SpaceUpdates(), t.SessionChangelog(), t.SpaceChangelog())
}

// Compacted reports whether topic must have cleanup.policy=compact: the
// changelogs keep the latest value per key for as long as the state lives.
func (t Topics) Compacted(topic string) bool {
	return topic == t.SessionChangelog() || topic == t.SpaceChangelog()
}

// SpaceUpdates is the topic of session contributions to space state, keyed
// by SpaceKey.
func (t Topics) SpaceUpdates() string { return t.prefix() + ".space-updates" }

// SpaceKey is the Kafka key of a space's records: the tenant and space ids
// joined by a unit separator, which ids never contain.
func SpaceKey(tenant, space string) string { return tenant + "\x1f" + space }

// maxPrefixBytes leaves room for the longest suffix within Kafka's limit of
// 249 bytes for a topic name.
const maxPrefixBytes = 200

// ValidatePrefix checks that prefix makes legal Kafka topic names: 1 to 200
// of the characters a-z, A-Z, 0-9, '.', '_' and '-'.
func ValidatePrefix(prefix string) error {
	if prefix == "" || len(prefix) > maxPrefixBytes {
		return fmt.Errorf("ingest: topic prefix must be 1 to %d bytes", maxPrefixBytes)
	}
	for _, r := range prefix {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("ingest: topic prefix may contain only a-z, A-Z, 0-9, '.', '_' and '-', not %q", r)
		}
	}
	return nil
}
