CREATE TABLE posts (
    id integer PRIMARY KEY,
    user_id integer NOT NULL,
    title varchar(200) NOT NULL,
    body text,
    updated_at timestamp NULL,
    CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id)
);
INSERT INTO users (id, email) VALUES (1, 'a@example.com'), (2, 'b;c@example.com'); -- a ';' in a string
