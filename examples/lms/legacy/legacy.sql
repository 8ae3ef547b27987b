-- The legacy LMS database of Seed 000's "Option B", as a SQLite script:
--   sqlite3 legacy.db < legacy.sql
-- The seed's table and column names, and the dirt a real one has: e-mails with spaces and
-- capitals, a duplicate e-mail (once trimmed and lower-cased), NULLs, and an enrollment
-- whose student is not in the student table.

CREATE TABLE Student_LegacyTable (
    StudentID INTEGER PRIMARY KEY,
    StudEmail TEXT,
    FirstName TEXT,
    LastName TEXT,
    PhoneNumber TEXT,
    EnrolledDate TEXT
);

INSERT INTO Student_LegacyTable VALUES
    (1, '  Ann.Lee@Example.com ', 'Ann ', ' Lee', '555-0101', '2023-09-01'),
    (2, 'bob.ray@example.com', 'Bob', 'Ray', NULL, '2023-09-02'),
    (3, 'CARL.OZ@EXAMPLE.COM', 'Carl', 'Oz', ' 555-0103 ', NULL),
    (4, 'ann.lee@example.com', 'Ann', 'Lee', '555-0199', '2023-09-05'),
    (5, NULL, 'Dana', 'Fox', NULL, '2023-09-03'),
    (6, 'eve.kim@example.com', 'Eve', 'Kim', NULL, '2024-01-15'),
    (7, 'frank example.com', 'Frank', 'Mole', NULL, '2024-02-01');

CREATE TABLE Instructor_LegacyTable (
    InstructorID INTEGER PRIMARY KEY,
    Email TEXT,
    Name TEXT,
    Dept TEXT
);

INSERT INTO Instructor_LegacyTable VALUES
    (1, 'Grace@Example.com', 'Grace Hopper', 'Computing'),
    (2, 'alan@example.com', ' Alan Turing', NULL);

CREATE TABLE Course_LegacyTable (
    CourseID INTEGER PRIMARY KEY,
    CourseCode TEXT,
    CourseName TEXT,
    Credits INTEGER,
    Fee TEXT,
    InstructorEmail TEXT
);

INSERT INTO Course_LegacyTable VALUES
    (1, 'cs110', ' Intro to Programming ', 4, '199.00', 'grace@example.com'),
    (2, 'MA201', 'Linear Algebra', 3, '149.50', 'ALAN@example.com'),
    (3, 'CS201', 'Databases', NULL, NULL, 'grace@example.com');

CREATE TABLE Enrollment_LegacyTable (
    EnrollmentID INTEGER PRIMARY KEY,
    StudEmail TEXT,
    CourseName TEXT,
    EnrolledOn TEXT,
    Status TEXT
);

INSERT INTO Enrollment_LegacyTable VALUES
    (1, 'Ann.Lee@example.com', 'Intro to Programming', '2023-09-10 09:00:00', 'Active'),
    (2, 'bob.ray@example.com', 'Linear Algebra', '2023-09-11 10:00:00', NULL),
    (3, 'carl.oz@example.com', 'Intro to Programming', NULL, 'completed'),
    (4, 'gone@example.com', 'Linear Algebra', '2023-09-12 11:00:00', 'active'),
    (5, 'eve.kim@example.com', 'Databases', '2024-01-20 08:30:00', 'withdrawn');
