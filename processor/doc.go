// Package processor runs the two stages of gridsession, each as a Kafka
// consumer group with one loop per owned partition number. The session
// stage reads the clients, sessions and events topics and keeps session
// state. The space stage reads the session contributions in the
// space-updates topic and keeps space state.
//
// Each batch goes through the same steps in the same order:
//
//  1. decode and validate every record, and fold the valid ones, and any
//     expired values, into state in memory;
//  2. send to Kafka the dead letters of rejected records, the session
//     contributions and the changelog records, and wait for the acks;
//  3. publish state changes and raw events to NATS and flush;
//  4. commit state, timers and the applied offsets in one Pebble batch;
//  5. commit the offsets to Kafka.
//
// A crash between any two steps loses nothing. Records at or below the
// offsets stored in Pebble are skipped on restart, and everything after
// them is folded again to the same state with the same versions. So Kafka
// and NATS see at worst a record or message twice, which consumers drop by
// version or captureId.
package processor
