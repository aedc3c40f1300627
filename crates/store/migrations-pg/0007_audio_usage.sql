-- podsift schema, version 7: speech-to-text used per user and UTC day, for
-- [asr] max_audio_hours_per_user_per_day. An episode's audio is shared among the subscribers
-- of its show who still had time left that day.
CREATE TABLE audio_usage (
    user_id     BIGINT           NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day         TEXT             NOT NULL,
    audio_secs  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (user_id, day)
);
