-- Revert blog:recent_posts from pg

BEGIN;

DROP VIEW recent_posts;

COMMIT;
