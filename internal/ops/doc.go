// Package ops serves what operators watch on a running worker: Prometheus
// metrics fed by the processor's hooks, consumer lag computed from Kafka's
// end offsets and the offsets the worker applied, and the /healthz and
// /readyz probes.
//
// Metrics and Readiness subscribe to the processor through Hooks, and
// Server exposes both over HTTP.
package ops
