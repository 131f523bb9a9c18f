# syntax=docker/dockerfile:1

# Build stage: a static binary, so that the runtime image needs no C
# library. The cache mounts keep downloaded modules and compiled packages
# between builds.
FROM golang:1.26 AS build
WORKDIR /src

COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/gridsession ./cmd/gridsession \
    && mkdir -p /out/data

# Runtime stage: distroless static, which has CA certificates and time zone
# data but no shell, running as its nonroot user (uid 65532).
#
# TODO: add a HEALTHCHECK on /readyz (served with `run --http`). The image
# has no HTTP client, so the check needs a probe subcommand in the binary.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gridsession /usr/local/bin/gridsession

# /data belongs to the nonroot user, so a named volume mounted there starts
# out writable by the worker.
COPY --from=build --chown=65532:65532 /out/data /data
ENV GRIDSESSION_DATA_DIR=/data
VOLUME ["/data"]

USER 65532:65532
ENTRYPOINT ["/usr/local/bin/gridsession"]
CMD ["run"]
