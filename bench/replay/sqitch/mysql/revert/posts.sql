-- Revert blog:posts from mysql

BEGIN;

DROP TABLE posts;

COMMIT;
