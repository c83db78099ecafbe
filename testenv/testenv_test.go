package testenv

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestPostgresGivesDistinctDatabases(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	dsnA, dsnB := Postgres(t), Postgres(t)
	if dsnA == dsnB {
		t.Fatalf("two calls returned the same DSN %q", dsnA)
	}
	a, err := pgx.Connect(ctx, dsnA)
	if err != nil {
		t.Fatalf("connect A: %v", err)
	}
	defer a.Close(ctx)
	b, err := pgx.Connect(ctx, dsnB)
	if err != nil {
		t.Fatalf("connect B: %v", err)
	}
	defer b.Close(ctx)

	var nameA, nameB string
	if err := a.QueryRow(ctx, "SELECT current_database()").Scan(&nameA); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, "SELECT current_database()").Scan(&nameB); err != nil {
		t.Fatal(err)
	}
	if nameA == nameB {
		t.Fatalf("both DSNs reach database %q", nameA)
	}
	if !strings.HasPrefix(nameA, "t_testpostgresgivesdistinctdatabases_") {
		t.Errorf("database name %q does not carry the test name", nameA)
	}

	if _, err := a.Exec(ctx, "CREATE TABLE items (id int PRIMARY KEY, v text)"); err != nil {
		t.Fatalf("create table in A: %v", err)
	}
	if _, err := a.Exec(ctx, "INSERT INTO items VALUES (1, 'a')"); err != nil {
		t.Fatalf("insert in A: %v", err)
	}
	var reg *string
	if err := b.QueryRow(ctx, "SELECT to_regclass('items')::text").Scan(&reg); err != nil {
		t.Fatal(err)
	}
	if reg != nil {
		t.Fatalf("table made in A is visible in B as %q", *reg)
	}
	if _, err := b.Exec(ctx, "CREATE TABLE items (id int PRIMARY KEY, v text)"); err != nil {
		t.Fatalf("create the same table in B: %v", err)
	}
	var n int
	if err := b.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("B sees %d rows of A", n)
	}
}

func TestPostgresDropsDatabaseAfterTest(t *testing.T) {
	skipIfShort(t, "PostgreSQL")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var name string
	t.Run("user", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		// Left open on purpose: the drop is WITH (FORCE).
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
	})

	admin, err := pgx.Connect(ctx, postgresAdminDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if name == "" || exists {
		t.Fatalf("database %q still exists after its test ended", name)
	}
}

func TestRedisPrefixAndCleanup(t *testing.T) {
	skipIfShort(t, "Redis")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var env RedisEnv
	t.Run("user", func(t *testing.T) {
		env = Redis(t)
		other := Redis(t)
		if env.Prefix == other.Prefix || !strings.HasPrefix(env.Prefix, "t") || !strings.HasSuffix(env.Prefix, ":") {
			t.Fatalf("prefixes %q and %q", env.Prefix, other.Prefix)
		}
		if lookup(EnvRedisSentinels) != "" {
			if len(env.Sentinels) != 3 || env.MasterName != "mymaster" || env.Start == nil {
				t.Fatalf("want 3 sentinels monitoring mymaster and a Start func, got %+v", env)
			}
		}
		for _, k := range []string{"a", "b", "c"} {
			if _, err := redisDo(ctx, env.Addr, env.Password, "SET", env.Prefix+k, "1"); err != nil {
				t.Fatalf("SET: %v", err)
			}
		}
		if _, err := redisDo(ctx, env.Addr, env.Password, "SET", other.Prefix+"kept-until-its-test-ends", "1"); err != nil {
			t.Fatalf("SET: %v", err)
		}
	})

	reply, err := redisDo(ctx, env.Addr, env.Password, "EXISTS", env.Prefix+"a", env.Prefix+"b", env.Prefix+"c")
	if err != nil {
		t.Fatal(err)
	}
	if reply != int64(0) {
		t.Fatalf("%v keys under %q left after the test", reply, env.Prefix)
	}
}

func TestKafkaAnswers(t *testing.T) {
	env := Kafka(t)
	if env.Brokers == "" || !strings.HasPrefix(env.TopicPrefix, "t") {
		t.Fatalf("bad env %+v", env)
	}
	if other := Kafka(t); other.TopicPrefix == env.TopicPrefix {
		t.Fatalf("two calls share the topic prefix %q", env.TopicPrefix)
	}
	if lookup(EnvKafkaStart) != "" && (env.Stop == nil || env.Start == nil || env.Restart == nil) {
		t.Fatalf("%s is set but Stop/Start/Restart are nil", EnvKafkaStart)
	}
	conn, err := net.DialTimeout("tcp", strings.Split(env.Brokers, ",")[0], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

func TestParseEnvFile(t *testing.T) {
	got := parseEnvFile([]byte(`export MESSENGER_SERVICES_DIR=/srv/messenger/.services
export MESSENGER_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
export MESSENGER_TEST_KAFKA_STOP='MESSENGER_SERVICES_DIR=/x /s/services.sh kafka-stop'
export MESSENGER_TEST_REDIS_PASSWORD='s3cr'\''et x'
# comment
`))
	want := map[string]string{
		"MESSENGER_SERVICES_DIR":        "/srv/messenger/.services",
		"MESSENGER_TEST_POSTGRES_DSN":   "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"MESSENGER_TEST_KAFKA_STOP":     "MESSENGER_SERVICES_DIR=/x /s/services.sh kafka-stop",
		"MESSENGER_TEST_REDIS_PASSWORD": "s3cr'et x",
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestWithDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable": "postgres://postgres@127.0.0.1:5432/t_x?sslmode=disable",
		"postgresql://u:p@h:1?sslmode=disable":                        "postgresql://u:p@h:1/t_x?sslmode=disable",
		"host=h port=1 user=u dbname=postgres":                        "host=h port=1 user=u dbname=postgres dbname=t_x",
	} {
		got, err := withDatabase(in, "t_x")
		if err != nil || got != want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestDatabaseName(t *testing.T) {
	long := databaseName("TestSomething/With Sub-Tests_and_a_very_long_name_that_goes_on_and_on_and_on")
	if len(long) > 63 || !strings.HasPrefix(long, "t_testsomething_with_sub_tests_and_a_") {
		t.Errorf("databaseName = %q (%d bytes)", long, len(long))
	}
	if a, b := databaseName("T"), databaseName("T"); a == b {
		t.Errorf("two names alike: %q", a)
	}
}
