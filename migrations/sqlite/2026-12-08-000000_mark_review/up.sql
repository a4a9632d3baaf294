-- A mark a person should check before it is trusted (issue 17): the camera marked the student
-- although the face was judged a photo or a screen held up (liveness "warn"). NULL: nothing to
-- check. The attempt itself (time, camera, score) is in the audit log.
ALTER TABLE marks ADD COLUMN review TEXT;
