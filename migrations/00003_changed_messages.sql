-- The messages of a conversation that were edited or deleted, for the
-- replay of a resume: only those rows are in the index, so finding the
-- changes below a device's cursor reads them alone, however long the
-- conversation. Built without blocking writes, which a populated chats
-- table needs; CONCURRENTLY cannot run inside a transaction.

-- +goose NO TRANSACTION
-- +goose Up

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_chats_changed ON chats (conversation_id, sequence_id) WHERE change_offset IS NOT NULL;
