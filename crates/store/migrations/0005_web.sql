-- podsift schema, version 5: the web UI. Password logins, sessions, per-show weights and
-- full-text search over transcripts and insights.

-- argon2id PHC string (`$argon2id$v=19$...`); NULL: the user cannot sign in to the web UI.
ALTER TABLE users ADD COLUMN password_hash TEXT;

-- Web sessions. Only the SHA-256 of the cookie's token is stored, so a leaked database does
-- not leak sessions; `csrf` is the per-session token every form and API write must echo.
CREATE TABLE sessions (
    token_hash  TEXT    PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- How much the user wants of a show (the ranking's show weight, 0.5-1.5; 1 = neutral).
ALTER TABLE subscriptions ADD COLUMN weight DOUBLE PRECISION NOT NULL DEFAULT 1.0;

-- Full-text search (FTS5). Segments: a contentless index (the text lives once, in
-- `segments`) whose rowid is episode_id * 2^20 + idx (MAX_SEGMENTS < 2^20), so it never
-- depends on SQLite's implicit rowid, which VACUUM may renumber. Insights: external content on
-- their INTEGER PRIMARY KEY. Triggers keep both in step.
CREATE VIRTUAL TABLE segments_fts USING fts5 (text, content = '', contentless_delete = 1, tokenize = 'porter unicode61 remove_diacritics 2');
CREATE TRIGGER segments_fts_insert AFTER INSERT ON segments BEGIN
    INSERT INTO segments_fts (rowid, text) VALUES (new.episode_id * 1048576 + new.idx, new.text);
END;
CREATE TRIGGER segments_fts_delete AFTER DELETE ON segments BEGIN
    DELETE FROM segments_fts WHERE rowid = old.episode_id * 1048576 + old.idx;
END;
CREATE TRIGGER segments_fts_update AFTER UPDATE OF text ON segments BEGIN
    DELETE FROM segments_fts WHERE rowid = old.episode_id * 1048576 + old.idx;
    INSERT INTO segments_fts (rowid, text) VALUES (new.episode_id * 1048576 + new.idx, new.text);
END;
INSERT INTO segments_fts (rowid, text) SELECT episode_id * 1048576 + idx, text FROM segments;

CREATE VIRTUAL TABLE insights_fts USING fts5 (text, quote, content = 'insights', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2');
CREATE TRIGGER insights_fts_insert AFTER INSERT ON insights BEGIN
    INSERT INTO insights_fts (rowid, text, quote) VALUES (new.id, new.text, new.quote);
END;
CREATE TRIGGER insights_fts_delete AFTER DELETE ON insights BEGIN
    INSERT INTO insights_fts (insights_fts, rowid, text, quote) VALUES ('delete', old.id, old.text, old.quote);
END;
CREATE TRIGGER insights_fts_update AFTER UPDATE OF text, quote ON insights BEGIN
    INSERT INTO insights_fts (insights_fts, rowid, text, quote) VALUES ('delete', old.id, old.text, old.quote);
    INSERT INTO insights_fts (rowid, text, quote) VALUES (new.id, new.text, new.quote);
END;
INSERT INTO insights_fts (insights_fts) VALUES ('rebuild');
