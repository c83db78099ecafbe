package testenv

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Images used where a Docker engine answers and scripts/services.sh did not run.
const (
	postgresImage = "postgres:15-alpine"
	redisImage    = "redis:7-alpine"
	kafkaImage    = "apache/kafka:4.1.1"
)

var (
	dockerOnce sync.Once
	dockerErr  error
)

// dockerAvailable reports whether a Docker engine answers; the error says why not.
func dockerAvailable() error {
	dockerOnce.Do(func() {
		p, err := testcontainers.NewDockerProvider()
		if err != nil {
			dockerErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		dockerErr = p.Health(ctx) // Health closes the provider
	})
	return dockerErr
}

// containerOnce starts a container once per process; the result (or the
// error) is shared by every later call. Containers are left to the
// testcontainers reaper, which removes them when the process exits.
type containerOnce struct {
	once sync.Once
	val  string
	err  error
}

func (c *containerOnce) get(start func(context.Context) (string, error)) (string, error) {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		c.val, c.err = start(ctx)
	})
	return c.val, c.err
}

var pgContainer, redisContainer, kafkaContainer containerOnce

func startPostgresContainer(ctx context.Context) (string, error) {
	c, err := tcpostgres.Run(ctx, postgresImage,
		tcpostgres.WithDatabase("postgres"),
		tcpostgres.WithUsername("postgres"),
		tcpostgres.WithPassword("postgres"),
		tcpostgres.BasicWaitStrategies(),
		testcontainers.WithCmdArgs("-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off", "-c", "max_connections=300"),
	)
	if err != nil {
		return "", fmt.Errorf("postgres container: %w", err)
	}
	return c.ConnectionString(ctx, "sslmode=disable")
}

func startRedisContainer(ctx context.Context) (string, error) {
	c, err := testcontainers.Run(ctx, redisImage,
		testcontainers.WithExposedPorts("6379/tcp"),
		testcontainers.WithCmd("redis-server", "--save", "", "--appendonly", "no"),
		testcontainers.WithWaitStrategy(wait.ForLog("Ready to accept connections").
			WithStartupTimeout(2*time.Minute)),
	)
	if err != nil {
		return "", fmt.Errorf("redis container: %w", err)
	}
	return c.PortEndpoint(ctx, "6379/tcp", "")
}

// startKafkaContainer runs a single KRaft node. The broker must advertise the
// address clients reach it on, so the host port is chosen up front and bound
// explicitly instead of letting Docker pick one.
func startKafkaContainer(ctx context.Context) (string, error) {
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return "", err
	}
	host, err := p.DaemonHost(ctx)
	_ = p.Close()
	if err != nil {
		return "", err
	}
	hostPort, err := freeLocalPort()
	if err != nil {
		return "", err
	}
	advertised := net.JoinHostPort(host, strconv.Itoa(hostPort))
	_, err = testcontainers.Run(ctx, kafkaImage,
		testcontainers.WithExposedPorts("9092/tcp"),
		testcontainers.WithEnv(map[string]string{
			"KAFKA_NODE_ID":                                  "1",
			"KAFKA_PROCESS_ROLES":                            "broker,controller",
			"KAFKA_LISTENERS":                                "PLAINTEXT://0.0.0.0:9092,CONTROLLER://127.0.0.1:9093",
			"KAFKA_ADVERTISED_LISTENERS":                     "PLAINTEXT://" + advertised,
			"KAFKA_CONTROLLER_LISTENER_NAMES":                "CONTROLLER",
			"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":           "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
			"KAFKA_CONTROLLER_QUORUM_VOTERS":                 "1@127.0.0.1:9093",
			"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":         "1",
			"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
			"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":            "1",
			"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS":         "0",
			"KAFKA_NUM_PARTITIONS":                           "1",
			"KAFKA_AUTO_CREATE_TOPICS_ENABLE":                "false",
		}),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{
				network.MustParsePort("9092/tcp"): {{HostIP: netip.IPv4Unspecified(), HostPort: strconv.Itoa(hostPort)}},
			}
		}),
		testcontainers.WithWaitStrategy(wait.ForLog("Kafka Server started").
			WithStartupTimeout(3*time.Minute)),
	)
	if err != nil {
		return "", fmt.Errorf("kafka container: %w", err)
	}
	return advertised, nil
}

// freeLocalPort asks the kernel for a free TCP port.
func freeLocalPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
