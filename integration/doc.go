// Package integration holds end-to-end tests that run gridsession's workers
// on real servers: the embedded Kafka-protocol broker and NATS server over
// loopback sockets, and Pebble on disk.
package integration
