package testenv

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
)

// KafkaEnv describes the Kafka a test uses.
type KafkaEnv struct {
	// Brokers is the bootstrap server list ("host:port[,host:port]").
	Brokers string
	// TopicPrefix is unique to the test ("t<random>-"); start every topic
	// and consumer group name with it. Topics are not deleted afterwards:
	// the broker is a throwaway one and the prefix keeps tests apart.
	TopicPrefix string
	// Stop stops the broker (a controlled shutdown) and Start starts it again
	// with the same storage, ports and topics; both wait until done. If a
	// test stops the broker and does not start it, it is started when the
	// test ends. Nil where the broker cannot be restarted (containers).
	Stop  func(t testing.TB) error
	Start func(t testing.TB) error
	// Restart is Stop then Start, failing the test on error; nil with Stop.
	Restart func(t testing.TB)
}

// Kafka returns the Kafka broker for the calling test.
func Kafka(t testing.TB) KafkaEnv {
	t.Helper()
	skipIfShort(t, "Kafka")
	env := KafkaEnv{
		Brokers:     lookup(EnvKafkaBrokers),
		TopicPrefix: "t" + randomHex(6) + "-",
	}
	if env.Brokers == "" || useContainers() {
		requireDocker(t, "Kafka", EnvKafkaBrokers)
		brokers, err := kafkaContainer.get(startKafkaContainer)
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		env.Brokers = brokers
		return env
	}

	stopCmd, startCmd := lookup(EnvKafkaStop), lookup(EnvKafkaStart)
	if stopCmd != "" && startCmd != "" {
		var mu sync.Mutex
		stopped := false
		env.Stop = func(t testing.TB) error {
			t.Helper()
			mu.Lock()
			defer mu.Unlock()
			if err := runCommand(context.Background(), stopCmd); err != nil {
				return err
			}
			stopped = true
			return nil
		}
		env.Start = func(t testing.TB) error {
			t.Helper()
			mu.Lock()
			defer mu.Unlock()
			if err := runCommand(context.Background(), startCmd); err != nil {
				return err
			}
			stopped = false
			return nil
		}
		env.Restart = func(t testing.TB) {
			t.Helper()
			if err := env.Stop(t); err != nil {
				t.Fatalf("testenv: stop Kafka: %v", err)
			}
			if err := env.Start(t); err != nil {
				t.Fatalf("testenv: start Kafka: %v", err)
			}
		}
		t.Cleanup(func() {
			mu.Lock()
			defer mu.Unlock()
			if stopped {
				if err := runCommand(context.Background(), startCmd); err != nil {
					t.Errorf("testenv: start Kafka again after the test stopped it: %v", err)
				}
			}
		})
	}

	// Fail early, with a hint, when nothing listens.
	first, _, _ := strings.Cut(env.Brokers, ",")
	var d net.Dialer
	ctx, cancel := context.WithTimeout(context.Background(), serviceCheckTimeout)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", strings.TrimSpace(first))
	if err != nil {
		t.Fatalf("testenv: Kafka broker %s (%s) does not answer: %v; %s",
			first, source(EnvKafkaBrokers), err, servicesHint)
	}
	_ = conn.Close()
	return env
}
