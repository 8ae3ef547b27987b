-- Verify blog:posts on pg

BEGIN;

SELECT id, title FROM posts WHERE 0 = 1;

ROLLBACK;
