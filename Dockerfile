# syntax=docker/dockerfile:1
# Build: confluent-kafka-go links its bundled librdkafka statically through cgo,
# so the binary only needs glibc at run time.
#
# The two base images are arguments, so that a machine without a registry can
# build with local stand-ins (scripts/containers.sh does, with Podman).
ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/base-debian12:nonroot
FROM ${GO_IMAGE} AS build
# GOPROXY=off builds from a module cache lent with --volume.
ARG GOPROXY
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/messenger ./cmd/messenger && mkdir -p /out/keys

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/messenger /usr/local/bin/messenger
# /keys belongs to nonroot, and so does a volume mounted there when first
# used: the key the keygen service writes (mode 0600) is the servers' to read.
COPY --from=build --chown=65532:65532 /out/keys /keys
EXPOSE 3000
USER nonroot
ENTRYPOINT ["/usr/local/bin/messenger"]
