-- Rollcall's database. Times are the school's local time ("YYYY-MM-DD HH:MM:SS").
CREATE TABLE classes (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    -- "HH:MM" the lesson starts; NULL: a session starts when its run starts.
    session_start TEXT,
    late_after_minutes INTEGER NOT NULL DEFAULT 10 CHECK (late_after_minutes >= 0),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE students (
    id INTEGER PRIMARY KEY NOT NULL,
    student_id TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX students_class ON students(class_id);

-- Face embeddings, never the photos. Deleting a student deletes these (biometric data).
CREATE TABLE enrolments (
    id INTEGER PRIMARY KEY NOT NULL,
    student_id INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    embedding BLOB NOT NULL,
    source TEXT NOT NULL,
    face_size REAL NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX enrolments_student ON enrolments(student_id);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY NOT NULL,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    date DATE NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    late_after_minutes INTEGER NOT NULL,
    source TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    UNIQUE (class_id, date)
);

-- One mark per student per session. The camera's record (auto_status, first_seen, confidence)
-- is never rewritten by a person; an override changes `status` and is logged in audit_log.
CREATE TABLE marks (
    id INTEGER PRIMARY KEY NOT NULL,
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

CREATE TABLE mood_summaries (
    id INTEGER PRIMARY KEY NOT NULL,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    student_id INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    samples INTEGER NOT NULL,
    dominant TEXT NOT NULL,
    -- JSON object: expression -> share of samples
    distribution TEXT NOT NULL,
    UNIQUE (session_id, student_id)
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    session_id INTEGER,
    student_id INTEGER,
    old_value TEXT,
    new_value TEXT,
    reason TEXT NOT NULL
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
