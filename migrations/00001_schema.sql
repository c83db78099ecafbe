-- The messenger schema: the architecture guide's users, chats and friends
-- tables with every column and index it lists, plus what the delivery
-- contract needs: a row per conversation holding its last sequence (the lock
-- that serialises appends), each member's read and delivered watermarks, and
-- refresh tokens stored hashed.

-- +goose Up

CREATE TABLE users (
    id          uuid         PRIMARY KEY,
    first_name  varchar(100) NOT NULL,
    last_name   varchar(100) NOT NULL,
    email       varchar(254) NOT NULL,
    password    varchar(512) NOT NULL,
    created_at  timestamptz  NOT NULL DEFAULT now()
);
-- Emails are unique in their normalised (lower-case) form. text_pattern_ops
-- serves both equality and the prefix search (LIKE 'abc%') in any collation.
CREATE UNIQUE INDEX users_email_key ON users (lower(email) text_pattern_ops);
CREATE INDEX idx_users_first_name_prefix ON users (lower(first_name) text_pattern_ops);
CREATE INDEX idx_users_last_name_prefix ON users (lower(last_name) text_pattern_ops);

-- One row per pair of users, whoever asked: user_id is the requester (or the
-- blocker when a block came without a request), blocked_by who blocked whom.
CREATE TABLE friends (
    id          bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     uuid         NOT NULL REFERENCES users (id),
    friend_id   uuid         NOT NULL REFERENCES users (id),
    status      varchar(16)  NOT NULL,
    blocked_by  uuid         REFERENCES users (id),
    created_at  timestamptz  NOT NULL DEFAULT now(),
    updated_at  timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT friends_not_self CHECK (user_id <> friend_id),
    CONSTRAINT friends_status_check CHECK (status IN ('pending', 'accepted', 'blocked')),
    CONSTRAINT friends_blocked_by_check CHECK (
        (status = 'blocked') = (blocked_by IS NOT NULL)
        AND (blocked_by IS NULL OR blocked_by IN (user_id, friend_id)))
);
CREATE UNIQUE INDEX unique_friend_pair ON friends (LEAST(user_id, friend_id), GREATEST(user_id, friend_id));
CREATE INDEX idx_friends_user ON friends (user_id, status);
CREATE INDEX idx_friends_friend ON friends (friend_id, status, created_at);

-- One row per conversation that has messages. Its row lock serialises the
-- appends to the conversation; last_sequence is the sequence authority.
CREATE TABLE conversations (
    id               text        PRIMARY KEY,
    user_a           uuid        NOT NULL REFERENCES users (id),
    user_b           uuid        NOT NULL REFERENCES users (id),
    last_sequence    bigint      NOT NULL DEFAULT 0,
    last_message_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT conversations_members_check CHECK (user_a < user_b),
    CONSTRAINT conversations_id_check CHECK (id = user_a::text || '_' || user_b::text),
    CONSTRAINT conversations_last_sequence_check CHECK (last_sequence >= 0)
);

-- Each member's watermarks of a conversation. unread_count is the exact number
-- of messages the member received with a sequence above read_sequence; it is
-- only changed under the conversation's row lock.
CREATE TABLE conversation_members (
    conversation_id     text        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id             uuid        NOT NULL REFERENCES users (id),
    read_sequence       bigint      NOT NULL DEFAULT 0,
    delivered_sequence  bigint      NOT NULL DEFAULT 0,
    unread_count        bigint      NOT NULL DEFAULT 0,
    read_at             timestamptz,
    delivered_at        timestamptz,
    PRIMARY KEY (conversation_id, user_id),
    CONSTRAINT conversation_members_watermarks_check CHECK (read_sequence >= 0 AND delivered_sequence >= 0 AND unread_count >= 0)
);
CREATE INDEX idx_conversation_members_user ON conversation_members (user_id);

CREATE TABLE chats (
    id                 bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender_id          uuid         NOT NULL REFERENCES users (id),
    receiver_id        uuid         NOT NULL REFERENCES users (id),
    message            text         NOT NULL,
    sequence_id        bigint       NOT NULL,
    conversation_id    text         NOT NULL REFERENCES conversations (id),
    message_id         uuid         NOT NULL,
    client_message_id  varchar(128) NOT NULL,
    message_type       varchar(16)  NOT NULL DEFAULT 'text',
    metadata           jsonb,
    "timestamp"        timestamptz  NOT NULL,
    delivered_at       timestamptz,
    read_at            timestamptz,
    seen               boolean      NOT NULL DEFAULT false,
    deleted_at         timestamptz,
    deleted_by         uuid,
    version            bigint       NOT NULL DEFAULT 1,
    kafka_partition    varchar(16),
    kafka_offset       bigint,
    created_at         timestamptz  NOT NULL DEFAULT now(),
    -- No ON CONFLICT ever targets this key: a collision is an error.
    CONSTRAINT unique_conversation_message UNIQUE (conversation_id, sequence_id),
    -- The idempotency key of a send: a retried message is stored once.
    CONSTRAINT unique_sender_client_message UNIQUE (sender_id, client_message_id),
    CONSTRAINT unique_message_id UNIQUE (message_id),
    CONSTRAINT chats_sequence_check CHECK (sequence_id > 0),
    CONSTRAINT chats_message_type_check CHECK (message_type IN ('text', 'image', 'file', 'system'))
);
-- The guide's index list. idx_conversation_sequence duplicates the unique
-- constraint's index; it is kept because operators and dashboards look for it.
CREATE INDEX idx_conversation_sequence ON chats (conversation_id, sequence_id);
CREATE INDEX idx_unread_messages ON chats (receiver_id, read_at);
CREATE INDEX idx_chat_timeline ON chats (sender_id, receiver_id, "timestamp");
CREATE INDEX idx_kafka_offset ON chats (kafka_offset);

-- Refresh tokens, by the hash of the token (never the token itself). Tokens
-- rotated from one login share a family; presenting a used token revokes it.
CREATE TABLE refresh_tokens (
    token_hash  text        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family      text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX idx_refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX idx_refresh_tokens_user ON refresh_tokens (user_id);

-- +goose Down

DROP TABLE refresh_tokens;
DROP TABLE chats;
DROP TABLE conversation_members;
DROP TABLE conversations;
DROP TABLE friends;
DROP TABLE users;
