-- Deploy blog:users to pg

BEGIN;

CREATE TABLE users (
    id integer PRIMARY KEY,
    email varchar(200) NOT NULL,
    created_at timestamp NULL
);
CREATE UNIQUE INDEX users_email ON users (email);

COMMIT;
