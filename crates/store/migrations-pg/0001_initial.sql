-- podsift schema, version 1 (PostgreSQL): the same tables, columns and constraints as
-- migrations/0001_initial.sql (SQLite), so both stores share their row conversions.
--
-- Differences from the SQLite file, and why:
--   * ids are `BIGINT GENERATED ALWAYS AS IDENTITY` (SQLite: the rowid alias `INTEGER PRIMARY KEY`);
--   * JSON columns stay TEXT: they are only ever read whole by the application, and TEXT keeps
--     the bytes exactly as written (JSONB would reorder keys and drop duplicates);
--   * an index for the claim query's expired-lease branch (`jobs_leases`) since PostgreSQL
--     workers claim concurrently from many processes.
--
-- Timestamps are BIGINT unix epoch *milliseconds* (UTC) in every table: both databases compare
-- and index them natively and there is no text-format or time-zone ambiguity.

CREATE TABLE users (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Login handle; the single laptop user is named 'local'.
    name        TEXT    NOT NULL UNIQUE,
    email       TEXT,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE feeds (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url              TEXT    NOT NULL UNIQUE,
    title            TEXT,
    link             TEXT,
    description      TEXT,
    image            TEXT,
    language         TEXT,
    author           TEXT,
    status           TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'failing')),
    etag             TEXT,
    last_modified    TEXT,
    last_checked_at  BIGINT,
    next_check_at    BIGINT  NOT NULL,
    error_count      BIGINT  NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX feeds_next_check ON feeds (next_check_at, id);

CREATE TABLE subscriptions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    feed_id     BIGINT  NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    UNIQUE (user_id, feed_id)
);
CREATE INDEX subscriptions_feed ON subscriptions (feed_id);

CREATE TABLE episodes (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    feed_id            BIGINT  NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    -- Stable identity within the feed (guid:..., enclosure:..., ...).
    identity           TEXT    NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('candidate', 'seen')),
    content_hash       TEXT    NOT NULL,
    -- Key columns copied out of `data` for listing and filtering.
    guid               TEXT,
    title              TEXT,
    published_at       BIGINT,
    duration_seconds   BIGINT,
    audio_url          TEXT,
    -- The full ParsedEpisode as JSON.
    data               TEXT    NOT NULL,
    -- Set when chapters were saved (even an empty list): distinguishes "none" from "not fetched".
    chapters_saved_at  BIGINT,
    first_seen_at      BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL,
    UNIQUE (feed_id, identity)
);
CREATE INDEX episodes_newest ON episodes (published_at DESC, id DESC);
CREATE INDEX episodes_feed_newest ON episodes (feed_id, published_at DESC, id DESC);

-- At most one transcript per episode; `save_transcript` replaces it.
CREATE TABLE transcripts (
    episode_id     BIGINT  PRIMARY KEY REFERENCES episodes (id) ON DELETE CASCADE,
    -- TranscriptSource as JSON ({"kind": "publisher", ...}).
    source         TEXT    NOT NULL,
    language       TEXT,
    skipped        BIGINT  NOT NULL DEFAULT 0,
    segment_count  BIGINT  NOT NULL DEFAULT 0,
    created_at     BIGINT  NOT NULL
);

-- One row per transcript segment; later full-text search indexes `text`.
-- (`start`/`end` are reserved words in SQL, hence the *_seconds names.)
CREATE TABLE segments (
    episode_id     BIGINT            NOT NULL REFERENCES transcripts (episode_id) ON DELETE CASCADE,
    idx            BIGINT            NOT NULL,
    start_seconds  DOUBLE PRECISION  NOT NULL,
    end_seconds    DOUBLE PRECISION  NOT NULL,
    speaker        TEXT,
    text           TEXT              NOT NULL,
    PRIMARY KEY (episode_id, idx)
);

CREATE TABLE chapters (
    episode_id     BIGINT            NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    idx            BIGINT            NOT NULL,
    start_seconds  DOUBLE PRECISION  NOT NULL,
    end_seconds    DOUBLE PRECISION,
    title          TEXT,
    url            TEXT,
    img            TEXT,
    toc            BOOLEAN           NOT NULL,
    PRIMARY KEY (episode_id, idx)
);

CREATE TABLE jobs (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind              TEXT    NOT NULL,
    dedupe_key        TEXT    NOT NULL,
    -- JSON payload.
    payload           TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts          BIGINT  NOT NULL DEFAULT 0,
    max_attempts      BIGINT  NOT NULL,
    run_after         BIGINT  NOT NULL,
    lease_owner       TEXT,
    lease_expires_at  BIGINT,
    last_error        TEXT,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
);
-- Enqueuing the same work twice is a no-op while the first one is unfinished.
CREATE UNIQUE INDEX jobs_dedupe_unfinished ON jobs (dedupe_key) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_runnable ON jobs (state, run_after, id);
-- Expired leases are found by (state = 'running', lease_expires_at).
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'running';
