# The two set-up commands of the README are `make dev` and `make test`.
GO ?= go

.PHONY: dev test build vet race bench fuzz

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

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./projection ./statestore ./processor

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeAndReduce -fuzztime 60s ./projection
