DROP TABLE entrance_hours;
