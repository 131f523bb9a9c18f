// Package bench is the end-to-end load generator behind `gridsession bench`.
// It produces client, session and event records to Kafka, subscribes to the
// NATS subjects of the sessions it creates, and measures how many events per
// second the worker folds and how long each event takes to reach a
// subscriber.
//
// An event's latency runs from the moment the run hands the event to the
// Kafka producer until its raw event arrives on the session's events subject,
// matched by the captureId that the run gives every event. With
// Config.StateLatency the run also measures the time to the session's state
// message that the worker publishes after each CART_ADD event, the one kind
// of event that always changes the state.
//
// The records come from a synthetic generator shaped like the REES46 sample
// files, or from REES46 CSV files replayed under new session and client ids so
// that every run starts from empty state. StartEmbedded runs a broker, a NATS
// server and a worker inside the process, so that a run needs no other
// servers.
package bench
