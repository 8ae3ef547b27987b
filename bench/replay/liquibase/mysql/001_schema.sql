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
    user_id integer NOT NULL,
    title varchar(200) NOT NULL,
    body text,
    updated_at timestamp NULL,
    CONSTRAINT posts_user FOREIGN KEY (user_id) REFERENCES users (id)
);
INSERT INTO users (id, email) VALUES (1, 'a@example.com'), (2, 'b;c@example.com'); -- a ';' in a string
/* liquibase rollback
DROP TABLE posts;
*/

--changeset alice:3 endDelimiter:// 
CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW
BEGIN
    SET NEW.updated_at = now();
END//
CREATE PROCEDURE post_count(IN uid integer, OUT n integer)
BEGIN
    SELECT count(*) INTO n FROM posts WHERE user_id = uid;
END//
--rollback DROP TRIGGER posts_touch;
--rollback DROP PROCEDURE post_count;

--changeset alice:4
SELECT 1;
--rollback not required
