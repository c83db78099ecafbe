// Package postgres implements the messenger's stores on PostgreSQL 15+ with
// pgx/v5: users, friendships, refresh tokens, messages, read and delivered
// watermarks and the inbox overview (ports.UserStore, FriendStore, TokenStore,
// MessageStore, ReceiptStore and InboxStore), over the schema in package
// migrations.
//
// PostgreSQL is the sequence authority. AppendBatch stores a batch of messages
// in one transaction: it locks the batch's conversation rows in id order, drops
// messages already stored (same sender and clientMessageId), gives each new
// message the next sequence of its conversation and inserts the rows in one
// statement. A sequence collision (a counter behind its rows, after a restore
// or a hand edit) is repaired by advancing the counter, logged as an error,
// and the batch runs again; two callers appending the same batch at once
// still store each message once.
//
// Messages come validated by the domain and are not validated again: what
// is checked before they reach the database is what PostgreSQL cannot keep
// (invalid UTF-8 and NUL characters, jsonb's limits on numbers), and a batch
// holding such a message fails with KindInvalid. Other input is checked the
// same way, and driver errors are translated into domain kinds: unique
// violations are KindConflict, missing rows KindNotFound, lost connections,
// timeouts and aborted transactions KindUnavailable.
//
// A Store is safe for concurrent use.
package postgres
