-- Back to one class per student (the current one), ids reusable again; membership history is lost.
CREATE TABLE students_old (
    id INTEGER PRIMARY KEY NOT NULL,
    student_id TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO students_old (id, student_id, first_name, last_name, class_id, created_at)
    SELECT s.id, s.student_id, s.first_name, s.last_name,
           (SELECT m.class_id FROM memberships m WHERE m.student_id = s.id ORDER BY m.left_on IS NULL DESC, m.id DESC LIMIT 1),
           s.created_at
    FROM students s WHERE EXISTS (SELECT 1 FROM memberships m WHERE m.student_id = s.id);
DROP TABLE memberships;
DROP TABLE students;
ALTER TABLE students_old RENAME TO students;
CREATE INDEX students_class ON students(class_id);
ALTER TABLE sessions DROP COLUMN frames;
ALTER TABLE sessions DROP COLUMN faces;
ALTER TABLE sessions DROP COLUMN heartbeat_at;
ALTER TABLE sessions DROP COLUMN owner;
ALTER TABLE audit_log DROP COLUMN student_ref;
