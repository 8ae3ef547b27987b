-- Verify blog:users on sqlite

BEGIN;

SELECT id, email FROM users WHERE 0 = 1;

ROLLBACK;
