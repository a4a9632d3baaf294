DROP TABLE settings;
DROP TABLE audit_log;
DROP TABLE mood_summaries;
DROP TABLE marks;
DROP TABLE sessions;
DROP TABLE enrolments;
DROP TABLE students;
DROP TABLE classes;
