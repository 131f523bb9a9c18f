// Package embedded runs a Kafka-protocol broker (franz-go's kfake) and a NATS
// server inside the process, for `gridsession dev` and for tests of every
// package. Both listen on loopback by default and speak their real wire
// protocols, so clients connect to them as they would to external clusters.
//
// KafkaForTest and NATSForTest start servers on random loopback ports and
// stop them when the test ends.
package embedded
