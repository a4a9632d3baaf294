-- Back to one session per class and day: only for a database that never held two lessons of a
-- class on one day (the later lessons and their marks would otherwise be dropped).
CREATE TABLE sessions_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    date DATE NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    late_after_minutes INTEGER NOT NULL,
    source TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    frames INTEGER NOT NULL DEFAULT 0,
    faces INTEGER NOT NULL DEFAULT 0,
    heartbeat_at TIMESTAMP,
    owner TEXT,
    UNIQUE (class_id, date)
);
INSERT INTO sessions_old (id, class_id, date, starts_at, late_after_minutes, source, opened_at, closed_at, frames, faces, heartbeat_at, owner)
    SELECT id, class_id, date, starts_at, late_after_minutes, source, opened_at, closed_at, frames, faces, heartbeat_at, owner
    FROM sessions s WHERE s.id = (SELECT MIN(x.id) FROM sessions x WHERE x.class_id = s.class_id AND x.date = s.date);
DELETE FROM marks WHERE session_id NOT IN (SELECT id FROM sessions_old);
DELETE FROM mood_summaries WHERE session_id NOT IN (SELECT id FROM sessions_old);
DROP TABLE sessions;
ALTER TABLE sessions_old RENAME TO sessions;
