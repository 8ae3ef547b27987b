CREATE TABLE instructors (
    id INTEGER PRIMARY KEY,
    email VARCHAR(255) NOT NULL,
    full_name VARCHAR(200) NOT NULL,
    department VARCHAR(100) NOT NULL,
    CONSTRAINT instructors_email_key UNIQUE (email)
);
