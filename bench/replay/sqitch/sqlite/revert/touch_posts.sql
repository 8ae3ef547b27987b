-- Revert blog:touch_posts from sqlite

BEGIN;

DROP TRIGGER posts_touch;

COMMIT;
