// Package ingest moves records between Kafka and the processor: the consumer
// group of the session stage, the per-partition readers, the producer that
// writes records with the murmur2 partitioner, and the dead-letter writer.
package ingest

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

// Inputs lists the topics the session stage consumes.
func (t Topics) Inputs() []string { return []string{t.Clients(), t.Sessions(), t.Events()} }

// All lists every topic the session stage needs to exist.
func (t Topics) All() []string { return append(t.Inputs(), t.DLQ()) }
