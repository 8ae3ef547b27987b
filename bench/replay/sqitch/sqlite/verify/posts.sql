-- Verify blog:posts on sqlite

BEGIN;

SELECT id, title FROM posts WHERE 0 = 1;

ROLLBACK;
