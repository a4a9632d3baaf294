-- Twin of the SQLite migration of the same name: the live loop's gallery-version count is read
-- from an index on (student_id, model_id) alone.
CREATE INDEX enrolments_student_model ON enrolments(student_id, model_id);
DROP INDEX IF EXISTS enrolments_student;
