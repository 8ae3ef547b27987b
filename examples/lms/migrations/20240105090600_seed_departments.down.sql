DELETE FROM courses WHERE id IN (1, 2);
DELETE FROM instructors WHERE id IN (1, 2);
