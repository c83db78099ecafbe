// Package migrations holds the PostgreSQL schema of the messenger as goose
// (github.com/pressly/goose/v3) SQL migrations, embedded in the binary.
//
// Up brings a database to the newest version and is safe to call from several
// processes at once: a session-level advisory lock serialises the runs, and a
// database that is already current is left alone. The server calls it at start
// and from its migrate subcommand.
package migrations
