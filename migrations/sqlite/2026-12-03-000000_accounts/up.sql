-- Staff accounts (issue 12, part 2). An office account may do everything; a teacher account sees
-- and registers only the classes it teaches. Passwords are argon2id hashes (PHC strings). Five
-- failed sign-ins in a row lock the account until `locked_until`.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role TEXT NOT NULL CHECK (role IN ('office', 'teacher')),
    password_hash TEXT NOT NULL,
    failed_sign_ins INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    disabled_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    last_sign_in_at TIMESTAMP
);

-- The classes a teacher account teaches.
CREATE TABLE account_classes (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, class_id)
);
