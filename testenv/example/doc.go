// Package example is an integration suite the way a team that embeds the
// messenger writes one: endpoints from [testenv], a messenger node built on
// the PostgreSQL, Redis and Kafka adapters, driven over HTTP and the
// WebSocket with the client package. It has tests only.
//
// It runs against whatever testenv finds: the local services of
// scripts/services.sh, or containers (MESSENGER_TEST_CONTAINERS=1 with a
// Docker engine, or Podman's socket from scripts/containers.sh).
package example
