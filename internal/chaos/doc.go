// Package chaos is the messenger's end-to-end fault suite. Its test, built
// only with -tags chaos (`make chaos`), runs two real server nodes on a local
// stack of three Kafka brokers, Redis Sentinel and a durable PostgreSQL
// (scripts/services.sh), drives them through the wire contract under a steady
// load, injects one fault per scenario, and checks the delivery contract
// (I1-I8) from what was acknowledged, stored and received.
package chaos
