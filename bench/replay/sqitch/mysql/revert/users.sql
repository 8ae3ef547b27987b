-- Revert blog:users from mysql

BEGIN;

DROP TABLE users;

COMMIT;
