-- Deploy blog:posts to sqlite

BEGIN;

CREATE TABLE posts (
    id integer PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id),
    title varchar(200) NOT NULL,
    body text,
    updated_at timestamp NULL
);

COMMIT;
