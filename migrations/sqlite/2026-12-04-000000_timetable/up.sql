-- The weekly timetable (issue 13, part 2): each class's lessons, several a day if need be, with
-- the room and the camera that sees it. Weekdays are ISO (Monday 1 ... Sunday 7); times are
-- "HH:MM" (text compares as time). A lesson starts once per class and day at a given time.
CREATE TABLE lessons (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL CHECK (end_time > start_time),
    room TEXT NOT NULL DEFAULT '',
    camera TEXT NOT NULL DEFAULT '',
    UNIQUE (class_id, weekday, start_time)
);
CREATE INDEX lessons_by_day ON lessons (weekday, start_time);
