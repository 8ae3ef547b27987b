ALTER TABLE students ADD COLUMN phone VARCHAR(32);
UPDATE students SET phone = mobile;
