package server

// KafkaConfig exposes kafkaConfig to the tests.
var KafkaConfig = kafkaConfig
