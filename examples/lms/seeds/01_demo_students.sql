-- cutover:env dev,test
-- Demo students for the environments that get seeds (idempotent: safe to run again).
-- Portable SQL: the INSERT selects from a reference row every environment has.
INSERT INTO students (id, email, full_name, enrolled_on)
SELECT 1001, 'demo.student@lms.example', 'Demo Student', '2024-01-08'
FROM instructors WHERE id = 1
  AND NOT EXISTS (SELECT 1 FROM students WHERE id = 1001);

INSERT INTO enrollments (id, student_id, course_id)
SELECT 1001, 1001, 1
FROM instructors WHERE id = 1
  AND NOT EXISTS (SELECT 1 FROM enrollments WHERE id = 1001);
