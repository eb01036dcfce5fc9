-- The per-user event log (host/internal/events, docs/STREAM.md). Every
-- change a user can watch (a trade's state, a bot's status or signal, an
-- account's status or balance) appends one row here in the transaction
-- that makes the change, so the log and the tables never disagree and a
-- stream client that reconnects with Last-Event-ID is sent exactly what it
-- missed.
--
-- seq numbers a user's events 1, 2, 3, ... without gaps. event_seqs holds
-- each user's last number; a writer increments it as the last statement of
-- its transaction (always in ascending user id when one transaction writes
-- for several users), so two writers for one user queue for the moment
-- between that statement and their commit, and readers never see seq N+1
-- committed before seq N. The counter row outlives pruning, so a client
-- whose id fell out of retention is told to reset instead of silently
-- skipping events.
--
-- Neither table has a foreign key to users, on purpose: checking one takes
-- FOR KEY SHARE on the user's row after the counter lock, and a
-- transaction that locked that row FOR UPDATE (the trade path, the login
-- throttle) and then logs an event would wait on the counter held by a
-- transaction waiting on the row: a deadlock. Users are never deleted; the
-- log rows of a user who one day is must be deleted with them.
--
-- payload is the JSON object the REST API returns for the changed entity,
-- rendered when the change is made. bot_id is set for a bot's own events
-- and its trades: a bot's journal reads it.

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
);
CREATE INDEX events_created ON events (created_at);
CREATE INDEX events_bot ON events (user_id, bot_id, seq) WHERE bot_id IS NOT NULL;

ALTER TABLE event_seqs ENABLE ROW LEVEL SECURITY;
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON event_seqs
    USING (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT)
    WITH CHECK (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT);
CREATE POLICY tenant ON events
    USING (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT)
    WITH CHECK (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT);

-- +goose Down
DROP TABLE events;
DROP TABLE event_seqs;
