package testenv

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// RedisEnv describes the Redis a test uses.
type RedisEnv struct {
	// Addr is the current master's host:port (asked from the Sentinels when
	// there are any, so it is right after an earlier failover too).
	Addr string
	// MasterName is the name the Sentinels monitor the master under
	// ("mymaster"); empty without Sentinels.
	MasterName string
	// Sentinels are the Sentinels' host:port.
	Sentinels []string
	// Password is for the Redis nodes and the Sentinels alike; usually empty.
	Password string
	// Prefix is unique to the test ("t<random>:"); put it in front of every
	// key and channel. Keys under it are deleted when the test ends.
	Prefix string
	// ServicesDir is scripts/services.sh's state dir (pidfiles
	// redis-master.pid, redis-replica.pid, sentinel-{1,2,3}.pid, logs);
	// empty with containers.
	ServicesDir string
	// Start starts again, on their old ports, the Redis and Sentinel
	// processes a test killed, and waits until master, replica and the three
	// Sentinels agree again; nil where that is not available.
	Start func(t testing.TB) error
}

// Redis returns the Redis (with Sentinel where available) for the calling test.
func Redis(t testing.TB) RedisEnv {
	t.Helper()
	skipIfShort(t, "Redis")
	env := RedisEnv{
		Addr:        lookup(EnvRedisAddr),
		Sentinels:   splitList(lookup(EnvRedisSentinels)),
		Password:    lookup(EnvRedisPassword),
		ServicesDir: lookup(EnvServicesDir),
		Prefix:      "t" + randomHex(6) + ":",
	}
	if useContainers() || (env.Addr == "" && len(env.Sentinels) == 0) {
		requireDocker(t, "Redis", EnvRedisAddr)
		c, err := redisContainer.get(startRedisContainers)
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		env.Addr, env.Sentinels, env.MasterName, env.Password, env.ServicesDir = c.Addr, c.Sentinels, c.MasterName, "", ""
	}
	if len(env.Sentinels) > 0 {
		if env.MasterName == "" {
			env.MasterName = lookup(EnvRedisMaster)
		}
		if env.MasterName == "" {
			env.MasterName = redisMasterName
		}
		if !useContainers() {
			env.Start = commandFunc(lookup(EnvRedisStart))
		}
		if addr, err := env.currentMaster(); err == nil {
			env.Addr = addr
		} else if env.Addr == "" {
			t.Fatalf("testenv: ask Sentinels %v for %q: %v; %s", env.Sentinels, env.MasterName, err, servicesHint)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), serviceCheckTimeout)
	defer cancel()
	if reply, err := redisDo(ctx, env.Addr, env.Password, "PING"); err != nil || reply != "PONG" {
		t.Fatalf("testenv: Redis at %s (%s) does not answer PING: %v %v; %s",
			env.Addr, source(EnvRedisAddr), reply, err, servicesHint)
	}

	t.Cleanup(func() {
		if err := env.deletePrefix(); err != nil {
			t.Logf("testenv: delete keys %s*: %v", env.Prefix, err)
		}
	})
	return env
}

// currentMaster asks the Sentinels, in turn, for the master's address.
func (e RedisEnv) currentMaster() (string, error) {
	var lastErr error
	for _, s := range e.Sentinels {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		reply, err := redisDo(ctx, s, e.Password, "SENTINEL", "get-master-addr-by-name", e.MasterName)
		cancel()
		if err != nil {
			lastErr = err
			continue
		}
		hp, ok := reply.([]any)
		if !ok || len(hp) != 2 {
			lastErr = fmt.Errorf("sentinel %s: unexpected reply %v", s, reply)
			continue
		}
		host, _ := hp[0].(string)
		port, _ := hp[1].(string)
		return net.JoinHostPort(host, port), nil
	}
	return "", lastErr
}

// deletePrefix removes the keys under the test's prefix from the master.
func (e RedisEnv) deletePrefix() error {
	addr := e.Addr
	if len(e.Sentinels) > 0 {
		if a, err := e.currentMaster(); err == nil {
			addr = a
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dialRedis(ctx, addr, e.Password)
	if err != nil {
		return err
	}
	defer c.close()
	pattern := strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`).Replace(e.Prefix) + "*"
	cursor := "0"
	for {
		reply, err := c.do("SCAN", cursor, "MATCH", pattern, "COUNT", "1000")
		if err != nil {
			return err
		}
		parts, ok := reply.([]any)
		if !ok || len(parts) != 2 {
			return fmt.Errorf("SCAN: unexpected reply %v", reply)
		}
		cursor, _ = parts[0].(string)
		keys, _ := parts[1].([]any)
		if len(keys) > 0 {
			args := []string{"UNLINK"}
			for _, k := range keys {
				if s, ok := k.(string); ok {
					args = append(args, s)
				}
			}
			if _, err := c.do(args...); err != nil {
				return err
			}
		}
		if cursor == "0" || cursor == "" {
			return nil
		}
	}
}
