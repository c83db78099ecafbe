-- The lifecycle of accounts and messages.
--
-- Users: when a user's access tokens count again after a password change or
-- a log out everywhere, when the user was last seen, and deleted accounts. A
-- deleted account keeps its row (its id is on the messages it exchanged)
-- with the profile erased and the email freed, so the address may register
-- again.
--
-- Messages: edits and deletion for everyone. chats.version (the guide's)
-- counts every change of a row, receipts included; edit_version is the
-- message's version on the wire: 1 as sent, one more per edit and for the
-- deletion. The position in chat-messages of the last change applied makes a
-- change read again from the log a no-op.
--
-- Forward-only, and quick on a populated database: every statement changes
-- the catalog only (nullable columns, a column with a constant default, a
-- dropped NOT NULL, a constraint checked from now on); no row is rewritten.

-- +goose Up

ALTER TABLE users
    ADD COLUMN tokens_valid_after timestamptz,
    ADD COLUMN last_seen_at       timestamptz,
    ADD COLUMN deleted_at         timestamptz;
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
-- A live account has an email, a deleted one none. NOT VALID: the rows
-- already there (all live, all with an email) are not scanned.
ALTER TABLE users ADD CONSTRAINT users_email_check CHECK ((deleted_at IS NULL) = (email IS NOT NULL)) NOT VALID;

ALTER TABLE chats
    ADD COLUMN edited_at         timestamptz,
    ADD COLUMN edit_version      bigint NOT NULL DEFAULT 1,
    ADD COLUMN change_partition  integer,
    ADD COLUMN change_offset     bigint;
