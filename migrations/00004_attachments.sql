-- Attachments: files users upload to send in image and file messages. The
-- files are in the blob store under the attachment's id; a row is pending
-- (message_id NULL) until a message carries it, and expires at expires_at
-- unless one does. The sweep reads the expired rows through the partial
-- index, deletes the file, then the row. No foreign keys: a row is bound to
-- its message before the message is stored, and outlives nothing it names
-- (a deleted message or account releases its rows).

-- +goose Up
CREATE TABLE attachments (
    id               uuid          PRIMARY KEY,
    owner_id         uuid          NOT NULL,
    file_name        varchar(255)  NOT NULL,
    content_type     varchar(255)  NOT NULL,
    size             bigint        NOT NULL CHECK (size > 0),
    created_at       timestamptz   NOT NULL,
    expires_at       timestamptz,
    message_id       uuid,
    conversation_id  text,
    CHECK ((message_id IS NULL) = (expires_at IS NOT NULL))
);
CREATE INDEX idx_attachments_expiry ON attachments (expires_at) WHERE message_id IS NULL;
CREATE INDEX idx_attachments_message ON attachments (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX idx_attachments_owner ON attachments (owner_id);

-- +goose Down
DROP TABLE attachments;
