-- podsift schema, version 5 (PostgreSQL): the web UI. Password logins, sessions, per-show
-- weights and full-text search over transcripts and insights.

-- argon2id PHC string; NULL: the user cannot sign in to the web UI.
ALTER TABLE users ADD COLUMN password_hash TEXT;

-- Web sessions: only the SHA-256 of the cookie's token is stored.
CREATE TABLE sessions (
    token_hash  TEXT    PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- How much the user wants of a show (0.5-1.5; 1 = neutral).
ALTER TABLE subscriptions ADD COLUMN weight DOUBLE PRECISION NOT NULL DEFAULT 1.0;

-- Full-text search: expression indexes, queried with the same expressions.
CREATE INDEX segments_fts ON segments USING GIN (to_tsvector('english', text));
CREATE INDEX insights_fts ON insights USING GIN (to_tsvector('english', text || ' ' || quote));
