--liquibase formatted sql

--changeset alice:1
CREATE TABLE users (
    id integer PRIMARY KEY,
    email varchar(200) NOT NULL,
    created_at timestamp NULL
);
CREATE UNIQUE INDEX users_email ON users (email);
--rollback DROP TABLE users;

--changeset alice:2
-- posts belong to users
CREATE TABLE posts (
    id integer PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id),
    title varchar(200) NOT NULL,
    body text,
    updated_at timestamp NULL
);
INSERT INTO users (id, email) VALUES (1, 'a@example.com'), (2, 'b;c@example.com'); -- a ';' in a string
/* liquibase rollback
DROP TABLE posts;
*/

--changeset alice:3
CREATE TRIGGER posts_touch AFTER UPDATE ON posts FOR EACH ROW
BEGIN
    UPDATE posts SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;
--rollback DROP TRIGGER posts_touch;

--changeset alice:4 endDelimiter:\nGO
CREATE TABLE audit (id integer PRIMARY KEY, note text)
GO
CREATE INDEX audit_note ON audit (note)
GO
--rollback DROP TABLE audit;
