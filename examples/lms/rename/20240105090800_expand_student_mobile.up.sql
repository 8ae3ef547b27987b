-- cutover:phase expand
-- Renaming students.phone to students.mobile, step 1 of 3 (deploy 1): add the new column.
-- The application released with it writes both columns and still reads `phone`.
ALTER TABLE students ADD COLUMN mobile VARCHAR(32);
