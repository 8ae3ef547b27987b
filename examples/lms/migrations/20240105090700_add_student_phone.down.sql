ALTER TABLE students DROP COLUMN phone;
