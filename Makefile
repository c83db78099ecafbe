# The two set-up commands are `make run` and `make test`; the rest are helpers.
GO ?= go
SERVICES := scripts/services.sh

.PHONY: run test chaos build vet unit fuzz services-up services-down bench screenshots cert clean

## run: the server on the embedded default (memory adapters, ephemeral key); open http://localhost:3000
run:
	$(GO) run ./cmd/messenger

## test: start PostgreSQL, Redis Sentinel and Kafka locally, run every test, stop them
test:
	bash scripts/test.sh

## chaos: the fault suite: two nodes on three Kafka brokers, Redis Sentinel and a durable
## PostgreSQL, one fault per scenario under load, I1-I8 checked (scripts/chaos.sh)
chaos:
	bash scripts/chaos.sh

## build: the server binary in bin/
build:
	$(GO) build -o bin/messenger ./cmd/messenger

## vet: static checks
vet:
	$(GO) vet ./...

## unit: the tests that need no external service (-short)
unit:
	$(GO) test -race -short ./...

## fuzz: every fuzz target for FUZZTIME each (default 2m; make test runs them for 10s)
fuzz:
	FUZZTIME=$${FUZZTIME:-2m} bash scripts/fuzz.sh

## services-up / services-down: the local stack, left running for manual use
services-up:
	bash $(SERVICES) up

services-down:
	bash $(SERVICES) down

## bench: the load benchmark on the local stack, embedded default and real nodes side by side
## (scripts/bench.sh; BENCH_QUICK=1 for a smoke run); report in bench/out/latest/report.md
bench:
	bash scripts/bench.sh

## screenshots: the web client's browser test, writing docs/screenshots/*.png
screenshots:
	eval "$$(bash scripts/browser.sh)" && MESSENGER_SCREENSHOTS=1 $(GO) test -count=1 -run 'TestBrowserChatEmbedded$$' ./internal/server/

## cert: a self-signed certificate for localhost in deploy/certs/ (the compose stack's
## https://localhost:3443; also MESSENGER_TLS_CERT_FILE/KEY_FILE for the server itself)
cert:
	bash scripts/cert.sh

clean:
	rm -rf bin
