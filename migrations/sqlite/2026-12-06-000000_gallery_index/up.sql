-- The live loop asks every few seconds whether a class's faces changed (Store::gallery_version):
-- a count of its members' enrolments by one model. With only the index on student_id, SQLite
-- read every enrolment row (each with its 2 KB template) to check the model: 115 ms a check at
-- 2,000 students x 5 photos, on the loop's thread. On (student_id, model_id) the count is read
-- from the index alone.
CREATE INDEX enrolments_student_model ON enrolments(student_id, model_id);
DROP INDEX IF EXISTS enrolments_student;
