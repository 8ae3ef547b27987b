-- Deploy blog:posts to pg

BEGIN;

CREATE TABLE posts (
    id integer PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id),
    title varchar(200) NOT NULL,
    body text,
    updated_at timestamp NULL
);

COMMIT;
