-- Verify blog:touch_posts on sqlite

BEGIN;

SELECT 1;

ROLLBACK;
