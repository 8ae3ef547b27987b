-- Verify blog:recent_posts on sqlite

BEGIN;

SELECT id FROM recent_posts WHERE 0 = 1;

ROLLBACK;
