-- Revert blog:posts from sqlite

BEGIN;

DROP TABLE posts;

COMMIT;
