-- Registration at the gate from the timetable (issue 13, part 4): the hours a camera at an
-- entrance takes every class's roll, each student marked in the lesson on for them then (or
-- their next one that day). A timetable row whose class is "*" is one of these; its room names
-- the gate (two gates open at once are two rooms). Weekdays ISO, times "HH:MM", as lessons.
CREATE TABLE entrance_hours (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL CHECK (end_time > start_time),
    room TEXT NOT NULL DEFAULT '',
    camera TEXT NOT NULL DEFAULT '',
    UNIQUE (weekday, start_time, room)
);
