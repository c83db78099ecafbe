# syntax=docker/dockerfile:1
# Build: confluent-kafka-go links its bundled librdkafka statically through cgo,
# so the binary only needs glibc at run time.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/messenger ./cmd/messenger

FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/messenger /usr/local/bin/messenger
EXPOSE 3000
USER nonroot
ENTRYPOINT ["/usr/local/bin/messenger"]
