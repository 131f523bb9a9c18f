# The two set-up commands of the README are `make dev` and `make test`.
GO ?= go

.PHONY: dev test build vet race bench bench-e2e fuzz

# dev runs the main job: embedded Kafka-protocol broker, embedded NATS server
# and a worker, all on 127.0.0.1, with state under ./data.
dev: build
	./bin/gridsession dev

# test runs every test, including the end-to-end ones on the embedded servers.
test:
	$(GO) test ./...

build:
	$(GO) build -o bin/gridsession ./cmd/gridsession

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (gofmt -l .; exit 1)

race:
	$(GO) test -race ./...

# bench runs the go test benchmarks, then bench-e2e.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./projection ./statestore ./processor
	$(MAKE) --no-print-directory bench-e2e

# bench-e2e runs gridsession bench on an embedded broker, NATS server and
# worker: 30 s at 5,000 events/s, then 300,000 events as fast as possible
# (at most 60 s of sending).
bench-e2e: build
	./bin/gridsession bench --embedded --synthetic --state --rate 5000 --duration 30s
	./bin/gridsession bench --embedded --synthetic --state --rate 0 --events 300000 --duration 60s

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeAndReduce -fuzztime 60s ./projection
