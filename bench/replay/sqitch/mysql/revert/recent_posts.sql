-- Revert blog:recent_posts from mysql

BEGIN;

DROP VIEW recent_posts;

COMMIT;
