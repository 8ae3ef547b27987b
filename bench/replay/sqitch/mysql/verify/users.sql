-- Verify blog:users on mysql

BEGIN;

SELECT id, email FROM users WHERE 0 = 1;

ROLLBACK;
