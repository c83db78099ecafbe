-- Push devices: where to tell a user with no open socket that messages came.
-- A (platform, token) pair is one device, whoever registered it last; a
-- user's devices go with the account (DeleteUser deletes them, and the
-- foreign key with a hard delete).

-- +goose Up
CREATE TABLE devices (
    id          uuid         PRIMARY KEY,
    user_id     uuid         NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    platform    varchar(16)  NOT NULL,
    token       text         NOT NULL,
    preview     varchar(16)  NOT NULL,
    created_at  timestamptz  NOT NULL DEFAULT now(),
    UNIQUE (platform, token)
);
CREATE INDEX idx_devices_user ON devices (user_id, created_at);

-- +goose Down
DROP TABLE devices;
