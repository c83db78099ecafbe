package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Names of the variables printed by scripts/services.sh.
const (
	EnvServicesDir      = "MESSENGER_SERVICES_DIR"
	EnvPostgresDSN      = "MESSENGER_TEST_POSTGRES_DSN"
	EnvRedisAddr        = "MESSENGER_TEST_REDIS_ADDR"
	EnvRedisMaster      = "MESSENGER_TEST_REDIS_MASTER"
	EnvRedisSentinels   = "MESSENGER_TEST_REDIS_SENTINELS"
	EnvRedisPassword    = "MESSENGER_TEST_REDIS_PASSWORD"
	EnvRedisStart       = "MESSENGER_TEST_REDIS_START"
	EnvKafkaBrokers     = "MESSENGER_TEST_KAFKA_BROKERS"
	EnvKafkaStop        = "MESSENGER_TEST_KAFKA_STOP"
	EnvKafkaStart       = "MESSENGER_TEST_KAFKA_START"
	modulePath          = "github.com/messenger-go/messenger"
	servicesHint        = "run `eval \"$(scripts/services.sh up)\"` (or `make test`) first, or use a machine with a Docker engine"
	commandTimeout      = 5 * time.Minute
	serviceCheckTimeout = 10 * time.Second
)

var (
	envFileOnce sync.Once
	envFile     map[string]string
	envFilePath string
)

// lookup returns the variable from the environment or, when unset there,
// from the env file written by scripts/services.sh.
func lookup(name string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	envFileOnce.Do(loadEnvFile)
	return envFile[name]
}

func loadEnvFile() {
	envFile = map[string]string{}
	var candidates []string
	if dir := os.Getenv(EnvServicesDir); dir != "" {
		candidates = append(candidates, filepath.Join(dir, "env"))
	} else if root := moduleRoot(); root != "" {
		candidates = append(candidates, filepath.Join(root, ".services", "env"))
	}
	for _, p := range candidates {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		envFile = parseEnvFile(data)
		envFilePath = p
		return
	}
}

// moduleRoot walks up from the working directory to this module's go.mod.
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			first, _, _ := strings.Cut(string(data), "\n")
			if strings.TrimSpace(strings.TrimPrefix(first, "module")) == modulePath {
				return dir
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// parseEnvFile reads `export NAME=value` lines. Values may be in POSIX shell
// single quotes, with a literal quote written as quote, backslash, quote, quote.
func parseEnvFile(data []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "export ")
		name, value, ok := strings.Cut(line, "=")
		if !ok || name == "" || strings.HasPrefix(name, "#") {
			continue
		}
		out[name] = shellUnquote(value)
	}
	return out
}

func shellUnquote(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		switch s[0] {
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				b.WriteString(s[1:])
				return b.String()
			}
			b.WriteString(s[1 : 1+end])
			s = s[end+2:]
		case '\\':
			if len(s) > 1 {
				b.WriteByte(s[1])
				s = s[2:]
			} else {
				s = s[1:]
			}
		default:
			b.WriteByte(s[0])
			s = s[1:]
		}
	}
	return b.String()
}

// source says where a value came from, for error messages.
func source(name string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return "$" + name
	}
	if envFilePath != "" {
		return fmt.Sprintf("%s from %s", name, envFilePath)
	}
	return name
}

// randomHex returns n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("testenv: crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}

// runCommand runs a command line from scripts/services.sh with sh -c.
func runCommand(ctx context.Context, cmdline string) error {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", cmdline)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", cmdline, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// commandFunc wraps a command line from the environment as a test-facing
// func; nil when the command is not available.
func commandFunc(cmdline string) func(testing.TB) error {
	if cmdline == "" {
		return nil
	}
	return func(t testing.TB) error {
		t.Helper()
		return runCommand(context.Background(), cmdline)
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// skipIfShort skips an integration test under `go test -short` (make unit),
// the one explicit request to leave out tests that need services. Without
// -short a missing service fails the test.
func skipIfShort(t testing.TB, service string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("integration test: needs %s; skipped by -short", service)
	}
}
