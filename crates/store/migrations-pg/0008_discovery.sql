-- podsift schema, version 8: topics and the instance's catalogue (issue 19).
--
-- A topic belongs to one reader, or (user_id NULL) to the catalogue every reader gets. The
-- daily scan admits a few episodes of shows nobody follows for each topic; an admitted
-- episode is read once, whatever the number of readers, and each reader whose topic (or the
-- catalogue's) admitted it gets its insights with the reason it was read.
CREATE TABLE topics (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       BIGINT  REFERENCES users (id) ON DELETE CASCADE,
    text          TEXT    NOT NULL,
    -- lower(text), trimmed: one topic per reader and wording.
    norm          TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    last_scan_at  BIGINT,
    -- The last scan's report (JSON): what it admitted and what it left out, and why.
    last_report   TEXT
);
CREATE UNIQUE INDEX topics_user_norm ON topics (COALESCE(user_id, 0), norm);

CREATE TABLE topic_admissions (
    topic_id       BIGINT            NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    episode_id     BIGINT            NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    score          DOUBLE PRECISION  NOT NULL,
    reason         TEXT              NOT NULL,
    audio_seconds  BIGINT,
    admitted_at    BIGINT            NOT NULL,
    PRIMARY KEY (topic_id, episode_id)
);
CREATE INDEX topic_admissions_episode ON topic_admissions (episode_id);
CREATE INDEX topic_admissions_day ON topic_admissions (topic_id, admitted_at);

-- The shows every reader receives on top of their own subscriptions.
CREATE TABLE catalogue_feeds (
    feed_id   BIGINT  PRIMARY KEY REFERENCES feeds (id) ON DELETE CASCADE,
    added_at  BIGINT  NOT NULL
);

-- The syndication check looks episodes up by enclosure and GUID across feeds.
CREATE INDEX episodes_audio_url ON episodes (audio_url);
CREATE INDEX episodes_guid ON episodes (guid);
