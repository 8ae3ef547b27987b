-- Reference data every environment needs: the first instructors and courses.
INSERT INTO instructors (id, email, full_name, department) VALUES
    (1, 'ada@lms.example', 'Ada Lovelace', 'Mathematics'),
    (2, 'alan@lms.example', 'Alan Turing', 'Computer Science');

INSERT INTO courses (id, code, title, credits, fee, instructor_id) VALUES
    (1, 'MATH101', 'Analytical Engines', 5, 120.00, 1),
    (2, 'CS101', 'Computable Numbers', 6, 150.00, 2);
