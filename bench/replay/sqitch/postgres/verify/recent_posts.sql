-- Verify blog:recent_posts on pg

BEGIN;

SELECT id FROM recent_posts WHERE 0 = 1;

ROLLBACK;
