// Package testenv gives tests real PostgreSQL, Redis (with Sentinel) and Kafka.
//
// Each helper takes a testing.TB, marks itself as a helper, registers its
// cleanup with t.Cleanup, and fails the test (t.Fatalf) when the service is
// not there: it never skips.
//
//   - [Postgres] returns the DSN of a fresh database created for the calling
//     test and dropped (WITH (FORCE)) when it ends.
//   - [Redis] returns the addresses of a Redis master, its Sentinels and a
//     key prefix unique to the test; keys under the prefix are removed when
//     the test ends.
//   - [Kafka] returns the broker list, a topic-name prefix unique to the test
//     and, where the broker can be stopped and started, functions for that.
//
// # Where the services come from
//
// First from the environment that `scripts/services.sh up` prints (and writes
// to $MESSENGER_SERVICES_DIR/env):
//
//	MESSENGER_TEST_POSTGRES_DSN      admin DSN of a throwaway cluster
//	MESSENGER_TEST_REDIS_ADDR        master host:port when started
//	MESSENGER_TEST_REDIS_MASTER      Sentinel master name (mymaster)
//	MESSENGER_TEST_REDIS_SENTINELS   comma-separated Sentinel host:port
//	MESSENGER_TEST_REDIS_PASSWORD    optional
//	MESSENGER_TEST_REDIS_START       command restarting killed Redis processes
//	MESSENGER_TEST_KAFKA_BROKERS     bootstrap servers
//	MESSENGER_TEST_KAFKA_STOP        command stopping the broker
//	MESSENGER_TEST_KAFKA_START       command starting it again (same storage, ports)
//	MESSENGER_TEST_S3_ENDPOINT       S3-compatible server host:port (plain HTTP)
//	MESSENGER_TEST_S3_ACCESS_KEY     its access key
//	MESSENGER_TEST_S3_SECRET_KEY     its secret key
//	MESSENGER_TEST_S3_REGION         its region (us-east-1)
//	MESSENGER_SERVICES_DIR           state dir with pidfiles and logs
//
// so `eval "$(scripts/services.sh up)" && go test ./...` works, and so does
// `make test`. When a variable is unset, the env file of a running
// `scripts/services.sh up` is read: $MESSENGER_SERVICES_DIR/env, or
// .services/env in the module root found from the working directory.
//
// Otherwise, or always with MESSENGER_TEST_CONTAINERS=1, containers are
// started with testcontainers where a Docker engine answers (or Podman's
// Docker API: scripts/containers.sh), once per test binary and shared by its
// tests: PostgreSQL (the postgres module), a Redis master, replica and three
// Sentinels (generic containers on the host's network, listening on
// 127.0.0.1), and one Kafka KRaft node, every port published on 127.0.0.1
// only. MESSENGER_TEST_{POSTGRES,REDIS,KAFKA}_IMAGE name the images (default
// postgres:15-alpine, redis:7-alpine, apache/kafka:4.1.1), and
// MESSENGER_TEST_CONTAINER_SESSION labels the containers
// (messenger.session) for whoever removes them when the reaper is off. In
// that mode KafkaEnv.Stop/Start/Restart and RedisEnv.Start are nil.
//
// With neither, the helpers fail the test with a message saying to run
// `scripts/services.sh up` (or `make test`).
//
// This package imports pgx and testcontainers but no Redis or Kafka client,
// so that importing it stays cheap.
package testenv
