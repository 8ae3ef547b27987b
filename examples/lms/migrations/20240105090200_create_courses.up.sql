-- A course is taught by one instructor; deleting an instructor with courses is refused.
CREATE TABLE courses (
    id INTEGER PRIMARY KEY,
    code VARCHAR(20) NOT NULL,
    title VARCHAR(200) NOT NULL,
    credits SMALLINT NOT NULL CHECK (credits BETWEEN 1 AND 10),
    fee DECIMAL(10, 2) NOT NULL DEFAULT 0,
    instructor_id INTEGER NOT NULL,
    CONSTRAINT courses_code_key UNIQUE (code),
    CONSTRAINT courses_instructor_fk FOREIGN KEY (instructor_id)
        REFERENCES instructors (id) ON DELETE RESTRICT
);

CREATE INDEX courses_instructor_idx ON courses (instructor_id);
