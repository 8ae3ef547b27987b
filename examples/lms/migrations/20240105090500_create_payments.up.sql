-- Payments are financial records: a student with payments cannot be deleted, and a
-- deleted course leaves its payments in place without a course.
CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    student_id INTEGER NOT NULL,
    course_id INTEGER,
    amount DECIMAL(10, 2) NOT NULL CHECK (amount > 0),
    currency CHAR(3) NOT NULL DEFAULT 'EUR',
    paid_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    reference VARCHAR(64) NOT NULL,
    CONSTRAINT payments_reference_key UNIQUE (reference),
    CONSTRAINT payments_student_fk FOREIGN KEY (student_id)
        REFERENCES students (id) ON DELETE RESTRICT,
    CONSTRAINT payments_course_fk FOREIGN KEY (course_id)
        REFERENCES courses (id) ON DELETE SET NULL
);

CREATE INDEX payments_student_idx ON payments (student_id);
CREATE INDEX payments_course_idx ON payments (course_id);
