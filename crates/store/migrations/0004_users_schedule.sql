-- Users with a schedule (`podsift users add`, `podsift serve`). The laptop's 'local' user
-- keeps the defaults and has no email, so the service does not schedule it.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
-- Local delivery time of day, HH:MM.
ALTER TABLE users ADD COLUMN delivery_time TEXT NOT NULL DEFAULT '07:00';
ALTER TABLE users ADD COLUMN digest_size BIGINT NOT NULL DEFAULT 5;
ALTER TABLE users ADD COLUMN interests TEXT;
-- JSON array of channels ({"kind": "webhook", "url": ..., "secret": ...}, slack, discord).
ALTER TABLE users ADD COLUMN channels TEXT NOT NULL DEFAULT '[]';
-- The next digest instant (ms); NULL: not scheduled.
ALTER TABLE users ADD COLUMN next_digest_at BIGINT;
-- The secret in the user's private digest feed URL.
ALTER TABLE users ADD COLUMN feed_token TEXT;
CREATE UNIQUE INDEX users_email ON users (email);
CREATE UNIQUE INDEX users_feed_token ON users (feed_token);
CREATE INDEX users_next_digest ON users (next_digest_at);
