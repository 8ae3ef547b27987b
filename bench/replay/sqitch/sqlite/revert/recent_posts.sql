-- Revert blog:recent_posts from sqlite

BEGIN;

DROP VIEW recent_posts;

COMMIT;
