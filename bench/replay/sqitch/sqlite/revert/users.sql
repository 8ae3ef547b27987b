-- Revert blog:users from sqlite

BEGIN;

DROP TABLE users;

COMMIT;
