CREATE TABLE grades (
    id INTEGER PRIMARY KEY,
    enrollment_id INTEGER NOT NULL,
    assessment VARCHAR(100) NOT NULL,
    score DECIMAL(5, 2) NOT NULL CHECK (score >= 0 AND score <= 100),
    graded_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT grades_enrollment_fk FOREIGN KEY (enrollment_id)
        REFERENCES enrollments (id) ON DELETE CASCADE
);

CREATE INDEX grades_enrollment_idx ON grades (enrollment_id);
