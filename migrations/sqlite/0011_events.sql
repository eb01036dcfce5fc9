-- The per-user event log; see postgres/0011_events.sql for the design.

-- +goose Up
CREATE TABLE event_seqs (
    user_id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL
);

CREATE TABLE events (
    user_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    kind VARCHAR(16) NOT NULL,
    bot_id BIGINT,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, seq)
) WITHOUT ROWID;
CREATE INDEX events_created ON events (created_at);
CREATE INDEX events_bot ON events (user_id, bot_id, seq) WHERE bot_id IS NOT NULL;

-- +goose Down
DROP TABLE events;
DROP TABLE event_seqs;
