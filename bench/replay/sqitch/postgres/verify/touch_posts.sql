-- Verify blog:touch_posts on pg

BEGIN;

SELECT 1;

ROLLBACK;
