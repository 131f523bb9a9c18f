// Package publish sends state changes and raw events to NATS.
//
// Every message goes to a subject of the form
//
//	<prefix>.<tenant>.session.<session>.state
//	<prefix>.<tenant>.session.<session>.events
//	<prefix>.<tenant>.space.<space>.state
//	<prefix>.<tenant>.space.<space>.events
//
// where each id is encoded with Token. Ids are untrusted input, and Token
// maps any id to exactly one subject token, so no id can add a token, a
// wildcard or white space to a subject. Subscribers tail one session, one
// space, one tenant or everything with the wildcards that Subjects builds.
//
// State messages carry a Gridsession-Version header that only grows per
// session or space. Delivery is at least once: Publisher.Publish may be
// retried with the same batch, and subscribers drop a message whose version
// is not above the last one they applied.
//
// The package knows nothing about Kafka or the state store; the processor
// builds Messages and hands them to a Publisher.
package publish
