-- podsift schema, version 3: 👍/👎 feedback on sent insights (one vote per user and insight,
-- the latest wins). The ranking reads it back to shift the user's profile.
CREATE TABLE feedback (
    user_id     BIGINT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    insight_id  BIGINT   NOT NULL REFERENCES insights (id) ON DELETE CASCADE,
    -- +1 or -1.
    vote        INTEGER  NOT NULL CHECK (vote IN (-1, 1)),
    created_at  BIGINT   NOT NULL,
    PRIMARY KEY (user_id, insight_id)
);
CREATE INDEX feedback_user_created ON feedback (user_id, created_at);
