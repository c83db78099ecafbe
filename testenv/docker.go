package testenv

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Variables of the container path (scripts/containers.sh prints them).
const (
	// EnvContainers set to 1 makes the helpers start containers even where
	// the variables of scripts/services.sh are set, so one `go test` runs the
	// suites against containers beside the local processes.
	EnvContainers = "MESSENGER_TEST_CONTAINERS"
	// The images; unset means the public images below.
	EnvPostgresImage = "MESSENGER_TEST_POSTGRES_IMAGE"
	EnvRedisImage    = "MESSENGER_TEST_REDIS_IMAGE"
	EnvKafkaImage    = "MESSENGER_TEST_KAFKA_IMAGE"
	// EnvContainerSession labels every container started here
	// (messenger.session=<value>), so that whoever started the engine's
	// session can remove them when the reaper is off.
	EnvContainerSession = "MESSENGER_TEST_CONTAINER_SESSION"
)

// Images used where a Docker engine answers and no image is named.
const (
	postgresImage = "postgres:15-alpine"
	redisImage    = "redis:7-alpine"
	kafkaImage    = "apache/kafka:4.1.1"
)

// Sentinel settings of the Redis containers, as scripts/services.sh's.
const (
	redisMasterName       = "mymaster"
	sentinelDownAfterMS   = 1000
	sentinelFailoverMS    = 10000
	containerStartTimeout = 3 * time.Minute
)

// useContainers reports whether the helpers are told to use containers.
func useContainers() bool {
	v := os.Getenv(EnvContainers)
	return v == "1" || v == "true"
}

func image(env, def string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

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

// requireDocker fails the test when no Docker engine answers.
func requireDocker(t testing.TB, service, env string) {
	t.Helper()
	if err := dockerAvailable(); err != nil {
		if useContainers() {
			t.Fatalf("testenv: no %s: %s=1 and no Docker engine answers (%v); run `eval \"$(scripts/containers.sh up)\"` first",
				service, EnvContainers, err)
		}
		t.Fatalf("testenv: no %s: %s is not set and no Docker engine answers (%v); %s",
			service, env, err, servicesHint)
	}
}

// containerOnce starts a container (or a group) once per process; the result
// (or the error) is shared by every later call. Containers are left to the
// testcontainers reaper, which removes them when the process exits, or, with
// the reaper off, to whoever removes the containers of the session label.
type containerOnce[T any] struct {
	once sync.Once
	val  T
	err  error
}

func (c *containerOnce[T]) get(start func(context.Context) (T, error)) (T, error) {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		c.val, c.err = start(ctx)
	})
	return c.val, c.err
}

var (
	pgContainer    containerOnce[string]
	redisContainer containerOnce[RedisEnv]
	kafkaContainer containerOnce[string]
)

// common are the options of every container: the session label, and ports
// published on 127.0.0.1 only (host ports picked by the engine).
func common(ports ...string) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		if s := os.Getenv(EnvContainerSession); s != "" {
			if req.Labels == nil {
				req.Labels = map[string]string{}
			}
			req.Labels["messenger.session"] = s
		}
		prev := req.HostConfigModifier
		req.HostConfigModifier = func(hc *container.HostConfig) {
			if prev != nil {
				prev(hc)
			}
			hc.PublishAllPorts = false
			if hc.PortBindings == nil {
				hc.PortBindings = network.PortMap{}
			}
			for _, p := range ports {
				port := network.MustParsePort(p)
				if _, ok := hc.PortBindings[port]; !ok {
					hc.PortBindings[port] = []network.PortBinding{{HostIP: netip.AddrFrom4([4]byte{127, 0, 0, 1})}}
				}
			}
		}
		return nil
	}
}

func startPostgresContainer(ctx context.Context) (string, error) {
	c, err := tcpostgres.Run(ctx, image(EnvPostgresImage, postgresImage),
		tcpostgres.WithDatabase("postgres"),
		tcpostgres.WithUsername("postgres"),
		tcpostgres.WithPassword("postgres"),
		// The module's BasicWaitStrategies, with room for a busy machine.
		testcontainers.WithWaitStrategyAndDeadline(containerStartTimeout,
			wait.ForLog("database system is ready to accept connections").WithOccurrence(2).
				WithStartupTimeout(containerStartTimeout),
			wait.ForListeningPort("5432/tcp").WithStartupTimeout(containerStartTimeout)),
		testcontainers.WithCmdArgs("-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off", "-c", "max_connections=300"),
		common("5432/tcp"),
	)
	if err != nil {
		return "", fmt.Errorf("postgres container: %w", err)
	}
	return c.ConnectionString(ctx, "sslmode=disable")
}

// startRedisContainers runs a master, a replica and three Sentinels (quorum
// 2), as scripts/services.sh does with processes. They share the host's
// network namespace and listen on 127.0.0.1 only: a Sentinel hands out the
// master's address as the master announces it, and that address must be the
// one the tests reach.
func startRedisContainers(ctx context.Context) (RedisEnv, error) {
	ports := make([]int, 5)
	for i := range ports {
		p, err := freeLocalPort()
		if err != nil {
			return RedisEnv{}, err
		}
		ports[i] = p
	}
	master, replica := strconv.Itoa(ports[0]), strconv.Itoa(ports[1])
	run := func(role string, cmd []string, ready string) error {
		_, err := testcontainers.Run(ctx, image(EnvRedisImage, redisImage),
			testcontainers.WithCmd(cmd...),
			testcontainers.WithLabels(map[string]string{"messenger.testenv": role}),
			testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) { hc.NetworkMode = "host" }),
			testcontainers.WithWaitStrategyAndDeadline(containerStartTimeout, wait.ForLog(ready).WithStartupTimeout(containerStartTimeout)),
			common(),
		)
		if err != nil {
			return fmt.Errorf("redis %s container: %w", role, err)
		}
		return nil
	}
	node := func(port string) []string {
		return []string{"redis-server", "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no"}
	}
	if err := run("redis-master", node(master), "Ready to accept connections"); err != nil {
		return RedisEnv{}, err
	}
	if err := run("redis-replica", append(node(replica), "--replicaof", "127.0.0.1", master),
		"MASTER <-> REPLICA sync: Finished with success"); err != nil {
		return RedisEnv{}, err
	}
	env := RedisEnv{Addr: "127.0.0.1:" + master, MasterName: redisMasterName}
	for i, p := range ports[2:] {
		conf := fmt.Sprintf("port %d\nbind 127.0.0.1\nsentinel monitor %s 127.0.0.1 %s 2\n"+
			"sentinel down-after-milliseconds %[2]s %[4]d\nsentinel failover-timeout %[2]s %[5]d\n",
			p, redisMasterName, master, sentinelDownAfterMS, sentinelFailoverMS)
		script := fmt.Sprintf("printf '%%s' '%s' >/tmp/sentinel.conf && exec redis-server /tmp/sentinel.conf --sentinel", conf)
		if err := run(fmt.Sprintf("redis-sentinel-%d", i+1), []string{"sh", "-c", script}, "+monitor master"); err != nil {
			return RedisEnv{}, err
		}
		env.Sentinels = append(env.Sentinels, net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	}
	// Sentinels that know each other and the replica, as the local ones do
	// once scripts/services.sh reports them up.
	for {
		if err := sentinelsAgree(ctx, env.Sentinels); err == nil {
			return env, nil
		} else if ctx.Err() != nil {
			return RedisEnv{}, fmt.Errorf("redis sentinels: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sentinelsAgree checks that every Sentinel sees the two others and one replica.
func sentinelsAgree(ctx context.Context, sentinels []string) error {
	for _, s := range sentinels {
		reply, err := redisDo(ctx, s, "", "SENTINEL", "master", redisMasterName)
		if err != nil {
			return err
		}
		fields, _ := reply.([]any)
		info := map[string]string{}
		for i := 0; i+1 < len(fields); i += 2 {
			k, _ := fields[i].(string)
			v, _ := fields[i+1].(string)
			info[k] = v
		}
		if info["num-other-sentinels"] != strconv.Itoa(len(sentinels)-1) || info["num-slaves"] != "1" {
			return fmt.Errorf("sentinel %s: sees %s other sentinels and %s replicas", s, info["num-other-sentinels"], info["num-slaves"])
		}
	}
	return nil
}

// startKafkaContainer runs a single KRaft node. The broker must advertise the
// address clients reach it on, so the host port is chosen up front and bound
// explicitly instead of letting the engine pick one.
func startKafkaContainer(ctx context.Context) (string, error) {
	hostPort, err := freeLocalPort()
	if err != nil {
		return "", err
	}
	advertised := net.JoinHostPort("127.0.0.1", strconv.Itoa(hostPort))
	_, err = testcontainers.Run(ctx, image(EnvKafkaImage, kafkaImage),
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
				network.MustParsePort("9092/tcp"): {{HostIP: netip.AddrFrom4([4]byte{127, 0, 0, 1}), HostPort: strconv.Itoa(hostPort)}},
			}
		}),
		testcontainers.WithWaitStrategyAndDeadline(containerStartTimeout, wait.ForLog("Kafka Server started").
			WithStartupTimeout(containerStartTimeout)),
		common("9092/tcp"),
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
