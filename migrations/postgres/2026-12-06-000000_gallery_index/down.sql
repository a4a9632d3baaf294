CREATE INDEX enrolments_student ON enrolments(student_id);
DROP INDEX IF EXISTS enrolments_student_model;
