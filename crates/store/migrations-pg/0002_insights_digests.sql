-- podsift schema, version 2 (PostgreSQL): insights, extraction reports, the LLM answer cache,
-- digests and the delivery outbox. The same as migrations/0002_insights_digests.sql (SQLite),
-- with the conventions of 0001.

CREATE TABLE extractions (
    episode_id         BIGINT  PRIMARY KEY REFERENCES episodes (id) ON DELETE CASCADE,
    model              TEXT    NOT NULL,
    -- ExtractionReport as JSON (coverage, skipped windows, drops, tokens, cost).
    report             TEXT    NOT NULL,
    prompt_tokens      BIGINT  NOT NULL,
    completion_tokens  BIGINT  NOT NULL,
    cost_usd           DOUBLE PRECISION NOT NULL,
    created_at         BIGINT  NOT NULL
);

CREATE TABLE insights (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    episode_id     BIGINT            NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    text           TEXT              NOT NULL,
    quote          TEXT              NOT NULL,
    start_seconds  DOUBLE PRECISION  NOT NULL,
    end_seconds    DOUBLE PRECISION  NOT NULL,
    -- The full InsightDraft as JSON (speaker, topics, scores, chapter).
    data           TEXT              NOT NULL,
    created_at     BIGINT            NOT NULL
);
CREATE INDEX insights_episode ON insights (episode_id, start_seconds);
CREATE INDEX insights_created ON insights (created_at);

-- Model answers keyed by (window text hash, model, prompt version): a rerun costs nothing.
CREATE TABLE llm_cache (
    key         TEXT    PRIMARY KEY,
    response    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- One digest per user and day.
CREATE TABLE digests (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day         TEXT    NOT NULL,
    -- The Digest as JSON (the documented stable shape).
    body        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    UNIQUE (user_id, day)
);

-- Which insights a user was sent (no repeats across days).
CREATE TABLE digest_items (
    digest_id   BIGINT  NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
    insight_id  BIGINT  NOT NULL,
    user_id     BIGINT  NOT NULL,
    rank        BIGINT  NOT NULL,
    PRIMARY KEY (digest_id, insight_id)
);
CREATE INDEX digest_items_user ON digest_items (user_id, insight_id);

-- The outbox: written in the same transaction as the digest; one row per channel.
CREATE TABLE deliveries (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    digest_id        BIGINT  NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
    user_id          BIGINT  NOT NULL,
    channel          TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'dead')),
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    started_at       BIGINT,
    receipt          TEXT,
    last_error       TEXT,
    sent_at          BIGINT,
    UNIQUE (digest_id, channel)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
