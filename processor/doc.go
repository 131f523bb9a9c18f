// Package processor runs the session stage: one loop per owned partition
// number that reads the clients, sessions and events topics, folds records
// with the projection reducers, stores state and applied offsets in Pebble,
// and publishes state changes and raw events to NATS.
//
// Each batch goes through the same steps in the same order:
//
//  1. decode and validate every record; rejected ones go to the dead-letter
//     topic and are acknowledged by Kafka before anything else happens;
//  2. fold the valid records into session state in memory;
//  3. publish state changes and raw events to NATS and flush;
//  4. commit state and the applied offsets in one Pebble batch;
//  5. commit the offsets to Kafka.
//
// A crash between any two steps loses nothing: records at or below the
// offsets stored in Pebble are skipped on restart, and everything after them
// is folded again to the same state with the same versions, so NATS sees at
// worst a message twice, which subscribers drop by version or captureId.
package processor
