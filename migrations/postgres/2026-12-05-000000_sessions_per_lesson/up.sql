-- Twin of the SQLite migration of the same name (issue 13): a session is one lesson. Every
-- earlier session (one a day) becomes the lesson starting at its own start.
ALTER TABLE sessions ADD COLUMN lesson_start TEXT COLLATE "C", ADD COLUMN ends_at TIMESTAMP;
UPDATE sessions SET lesson_start = to_char(starts_at, 'HH24:MI');
ALTER TABLE sessions ALTER COLUMN lesson_start SET NOT NULL;
ALTER TABLE sessions DROP CONSTRAINT sessions_class_date,
    ADD CONSTRAINT sessions_class_date_lesson UNIQUE (class_id, date, lesson_start);
CREATE INDEX sessions_by_date ON sessions (date, class_id);
