package testenv

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres creates a database for the calling test and returns its DSN. The
// database is dropped WITH (FORCE) when the test ends, so connections the
// test leaves open do not keep it alive.
//
// The server is the one in MESSENGER_TEST_POSTGRES_DSN (an admin DSN, see
// the package doc), else a container where Docker answers, else the test fails.
func Postgres(t testing.TB) string {
	t.Helper()
	skipIfShort(t, "PostgreSQL")
	admin := postgresAdminDSN(t)
	name := databaseName(t.Name())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("testenv: connect to PostgreSQL (%s): %v; %s", source(EnvPostgresDSN), err, servicesHint)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("testenv: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("testenv: drop database %s: %v", name, err)
		}
	})

	dsn, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("testenv: %s: %v", source(EnvPostgresDSN), err)
	}
	return dsn
}

func postgresAdminDSN(t testing.TB) string {
	t.Helper()
	if dsn := lookup(EnvPostgresDSN); dsn != "" && !useContainers() {
		return dsn
	}
	requireDocker(t, "PostgreSQL", EnvPostgresDSN)
	dsn, err := pgContainer.get(startPostgresContainer)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return dsn
}

// databaseName is "t_<test name>_<random>", lower case, at most 63 bytes.
func databaseName(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	base := strings.Trim(b.String(), "_")
	for strings.Contains(base, "__") {
		base = strings.ReplaceAll(base, "__", "_")
	}
	if len(base) > 40 {
		base = base[:40]
	}
	if base == "" {
		return "t_" + randomHex(6)
	}
	return "t_" + base + "_" + randomHex(6)
}

// withDatabase points a DSN (URL or key=value form) at another database.
func withDatabase(dsn, db string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse DSN: %w", err)
		}
		u.Path = "/" + db
		u.RawPath = ""
		return u.String(), nil
	}
	// key=value form: a later key wins.
	return strings.TrimSpace(dsn) + " dbname=" + db, nil
}
