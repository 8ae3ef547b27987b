ALTER TABLE students DROP COLUMN mobile;
