-- Deploy blog:posts to mysql

BEGIN;

CREATE TABLE posts (
    id integer PRIMARY KEY,
    user_id integer NOT NULL,
    title varchar(200) NOT NULL,
    body text,
    updated_at timestamp NULL,
    CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id)
);

COMMIT;
