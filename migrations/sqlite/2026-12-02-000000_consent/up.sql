-- Consent to process a student's biometric data (issue 11). Every event is kept: a new one never
-- rewrites an old one. A student's consent is usable when at least one person's latest event is
-- a grant and nobody's latest event is an objection (a parent's, or the child's own).
CREATE TABLE consent_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    student_id INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('granted', 'withdrawn', 'objected')),
    -- The guardian's name, or "student" for the child's own objection.
    by_name TEXT NOT NULL,
    relation TEXT,
    -- When the form was signed / the objection made (not when it was typed in).
    event_date DATE NOT NULL,
    how TEXT,
    note TEXT,
    recorded_at TIMESTAMP NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE INDEX consent_events_student ON consent_events(student_id);

-- When the camera last recognised the student: templates unused for a long time are purged.
ALTER TABLE students ADD COLUMN last_recognised_at TIMESTAMP;
