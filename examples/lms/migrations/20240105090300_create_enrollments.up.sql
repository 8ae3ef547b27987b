-- Enrollments disappear with their student or course.
CREATE TABLE enrollments (
    id INTEGER PRIMARY KEY,
    student_id INTEGER NOT NULL,
    course_id INTEGER NOT NULL,
    enrolled_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    status VARCHAR(20) NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'completed', 'withdrawn')),
    CONSTRAINT enrollments_student_course_key UNIQUE (student_id, course_id),
    CONSTRAINT enrollments_student_fk FOREIGN KEY (student_id)
        REFERENCES students (id) ON DELETE CASCADE,
    CONSTRAINT enrollments_course_fk FOREIGN KEY (course_id)
        REFERENCES courses (id) ON DELETE CASCADE
);

CREATE INDEX enrollments_course_idx ON enrollments (course_id);
