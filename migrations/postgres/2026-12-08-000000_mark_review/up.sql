-- Twin of the SQLite migration of the same name (issue 17): a mark a person should check before
-- it is trusted (a face judged a photo or a screen held up). NULL: nothing to check.
ALTER TABLE marks ADD COLUMN review TEXT;
