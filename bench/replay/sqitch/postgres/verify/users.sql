-- Verify blog:users on pg

BEGIN;

SELECT id, email FROM users WHERE 0 = 1;

ROLLBACK;
