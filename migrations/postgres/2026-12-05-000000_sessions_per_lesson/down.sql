-- Back to one session per class and day: the later lessons of a day and their marks are dropped.
DELETE FROM sessions s WHERE s.id <> (SELECT MIN(x.id) FROM sessions x WHERE x.class_id = s.class_id AND x.date = s.date);
DROP INDEX sessions_by_date;
ALTER TABLE sessions DROP CONSTRAINT sessions_class_date_lesson, DROP COLUMN lesson_start, DROP COLUMN ends_at,
    ADD CONSTRAINT sessions_class_date UNIQUE (class_id, date);
