-- A session is one lesson (issue 13): a class can be registered at 09:00 and again at 14:00 on
-- the same day, each lesson with its own marks. `lesson_start` ("HH:MM") is the lesson's
-- scheduled start, the session's name within its day; `starts_at` stays the time lateness is
-- judged against. `ends_at` is the scheduled end when a timetable gave one.
-- Every earlier session (one a day) becomes the lesson starting at its own start, so existing
-- registers keep their marks and stay valid.
CREATE TABLE sessions_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    date DATE NOT NULL,
    lesson_start TEXT NOT NULL,
    ends_at TIMESTAMP,
    starts_at TIMESTAMP NOT NULL,
    late_after_minutes INTEGER NOT NULL,
    source TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    frames INTEGER NOT NULL DEFAULT 0,
    faces INTEGER NOT NULL DEFAULT 0,
    heartbeat_at TIMESTAMP,
    owner TEXT,
    UNIQUE (class_id, date, lesson_start)
);
INSERT INTO sessions_new (id, class_id, date, lesson_start, ends_at, starts_at, late_after_minutes, source, opened_at, closed_at, frames, faces, heartbeat_at, owner)
    SELECT id, class_id, date, strftime('%H:%M', starts_at), NULL, starts_at, late_after_minutes, source, opened_at, closed_at, frames, faces, heartbeat_at, owner FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_by_date ON sessions (date, class_id);
