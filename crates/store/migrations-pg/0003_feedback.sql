-- podsift schema, version 3 (PostgreSQL): 👍/👎 feedback on sent insights. The same as
-- migrations/0003_feedback.sql (SQLite).
CREATE TABLE feedback (
    user_id     BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    insight_id  BIGINT    NOT NULL REFERENCES insights (id) ON DELETE CASCADE,
    -- +1 or -1.
    vote        SMALLINT  NOT NULL CHECK (vote IN (-1, 1)),
    created_at  BIGINT    NOT NULL,
    PRIMARY KEY (user_id, insight_id)
);
CREATE INDEX feedback_user_created ON feedback (user_id, created_at);
