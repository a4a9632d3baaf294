-- Back to one class per student (the current one); membership history is lost.
ALTER TABLE students ADD COLUMN class_id INTEGER REFERENCES classes(id) ON DELETE CASCADE;
UPDATE students s SET class_id = (SELECT m.class_id FROM memberships m WHERE m.student_id = s.id
                                  ORDER BY m.left_on IS NULL DESC, m.id DESC LIMIT 1);
DELETE FROM students WHERE class_id IS NULL;
ALTER TABLE students ALTER COLUMN class_id SET NOT NULL;
CREATE INDEX students_class ON students(class_id);
DROP TABLE memberships;
DROP INDEX marks_student;
DROP INDEX mood_summaries_student;
DROP INDEX audit_log_student;
ALTER TABLE sessions DROP COLUMN frames, DROP COLUMN faces, DROP COLUMN heartbeat_at, DROP COLUMN owner;
ALTER TABLE audit_log DROP COLUMN student_ref;
