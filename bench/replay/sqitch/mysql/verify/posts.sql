-- Verify blog:posts on mysql

BEGIN;

SELECT id, title FROM posts WHERE 0 = 1;

ROLLBACK;
