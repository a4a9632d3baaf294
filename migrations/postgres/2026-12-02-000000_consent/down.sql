DROP TABLE consent_events;
ALTER TABLE students DROP COLUMN last_recognised_at;
