package kafka

import ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

// noDelay turns Nagle's algorithm off on the client's broker connections
// (librdkafka's socket.nagle.disable, off by default). With it on, a small
// produce or fetch request sent while an earlier one on the same connection
// is unanswered waits for that answer (the broker acknowledges the earlier
// bytes only with its answer), so a message's publish and its fetch each wait
// for the request before them.
func noDelay(m *ckafka.ConfigMap) *ckafka.ConfigMap {
	(*m)["socket.nagle.disable"] = true
	return m
}
