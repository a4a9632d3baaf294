-- The register hardened (issue 10). Applied with foreign keys off (Store::open turns them off for
-- migrations and checks them afterwards), so that rebuilding a parent table cascades nothing.
--
-- 1. Row ids are never reused (AUTOINCREMENT): an audit entry, a mark or a template of a deleted
--    student can never come to point at somebody imported later.
-- 2. A student's classes are memberships with dates: a move keeps past marks and absences with
--    the class and day they were taken in (students.class_id goes).
-- 3. Sessions record how much they watched (frames, faces) and a heartbeat, so a session killed
--    mid-run is closed on the next start, and one that watched nothing records no absence.
-- 4. The audit log names students by their school id as well (it outlives the row).

CREATE TABLE classes_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    -- "HH:MM" the lesson starts; NULL: a session starts when its run starts.
    session_start TEXT,
    late_after_minutes INTEGER NOT NULL DEFAULT 10 CHECK (late_after_minutes >= 0),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO classes_new (id, name, session_start, late_after_minutes, created_at)
    SELECT id, name, session_start, late_after_minutes, created_at FROM classes;

CREATE TABLE students_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    student_id TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO students_new (id, student_id, first_name, last_name, created_at)
    SELECT id, student_id, first_name, last_name, created_at FROM students;

-- A student is on a class's register from joined_on (NULL: from the start of the records) until
-- the day before left_on (NULL: still in the class).
CREATE TABLE memberships (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    student_id INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    joined_on DATE,
    left_on DATE,
    CHECK (left_on IS NULL OR joined_on IS NULL OR left_on >= joined_on)
);
INSERT INTO memberships (student_id, class_id, joined_on, left_on)
    SELECT id, class_id, NULL, NULL FROM students;

CREATE TABLE enrolments_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    student_id INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    embedding BLOB NOT NULL,
    source TEXT NOT NULL,
    face_size REAL NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO enrolments_new SELECT id, student_id, model_id, embedding, source, face_size, created_at FROM enrolments;

CREATE TABLE sessions_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    date DATE NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    late_after_minutes INTEGER NOT NULL,
    source TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    -- Frames examined and faces detected over every run of the session.
    frames INTEGER NOT NULL DEFAULT 0,
    faces INTEGER NOT NULL DEFAULT 0,
    -- Written every few seconds while a run is going: an open session whose heartbeat stopped
    -- belongs to a process that was killed.
    heartbeat_at TIMESTAMP,
    -- "host:pid" of the process running it: a dead owner on this host means a killed run.
    owner TEXT,
    UNIQUE (class_id, date)
);
-- Sessions of earlier versions count as watched (they are what the register shows today); one left
-- open by a killed process is closed by Store::open like any other.
INSERT INTO sessions_new (id, class_id, date, starts_at, late_after_minutes, source, opened_at, closed_at, frames, faces, heartbeat_at, owner)
    SELECT id, class_id, date, starts_at, late_after_minutes, source, opened_at, closed_at, 1, 1, NULL, NULL FROM sessions;

CREATE TABLE marks_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    student_id INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('present', 'late', 'absent', 'excused')),
    auto_status TEXT CHECK (auto_status IN ('present', 'late')),
    first_seen TIMESTAMP,
    last_seen TIMESTAMP,
    late_minutes INTEGER NOT NULL DEFAULT 0,
    confidence REAL,
    source TEXT NOT NULL CHECK (source IN ('auto', 'manual')),
    UNIQUE (session_id, student_id)
);
INSERT INTO marks_new SELECT id, session_id, student_id, status, auto_status, first_seen, last_seen, late_minutes, confidence, source FROM marks;

CREATE TABLE mood_summaries_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    student_id INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    samples INTEGER NOT NULL,
    dominant TEXT NOT NULL,
    -- JSON object: expression -> share of samples
    distribution TEXT NOT NULL,
    UNIQUE (session_id, student_id)
);
INSERT INTO mood_summaries_new SELECT id, session_id, student_id, samples, dominant, distribution FROM mood_summaries;

CREATE TABLE audit_log_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    session_id INTEGER,
    student_id INTEGER,
    -- The student's school id when the entry was written (kept after the student is deleted).
    student_ref TEXT,
    old_value TEXT,
    new_value TEXT,
    reason TEXT NOT NULL
);
INSERT INTO audit_log_new (id, at, actor, action, session_id, student_id, student_ref, old_value, new_value, reason)
    SELECT a.id, a.at, a.actor, a.action, a.session_id, a.student_id,
           (SELECT s.student_id FROM students s WHERE s.id = a.student_id), a.old_value, a.new_value, a.reason
    FROM audit_log a;

DROP TABLE audit_log;
DROP TABLE mood_summaries;
DROP TABLE marks;
DROP TABLE sessions;
DROP TABLE enrolments;
DROP TABLE students;
DROP TABLE classes;
ALTER TABLE classes_new RENAME TO classes;
ALTER TABLE students_new RENAME TO students;
ALTER TABLE enrolments_new RENAME TO enrolments;
ALTER TABLE sessions_new RENAME TO sessions;
ALTER TABLE marks_new RENAME TO marks;
ALTER TABLE mood_summaries_new RENAME TO mood_summaries;
ALTER TABLE audit_log_new RENAME TO audit_log;

CREATE INDEX memberships_class ON memberships(class_id);
CREATE INDEX memberships_student ON memberships(student_id);
-- At most one current membership of a student in a class.
CREATE UNIQUE INDEX memberships_current ON memberships(student_id, class_id) WHERE left_on IS NULL;
CREATE INDEX enrolments_student ON enrolments(student_id);
CREATE INDEX marks_student ON marks(student_id);
CREATE INDEX mood_summaries_student ON mood_summaries(student_id);
CREATE INDEX audit_log_student ON audit_log(student_id);
