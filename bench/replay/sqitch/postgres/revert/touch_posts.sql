-- Revert blog:touch_posts from pg

BEGIN;

DROP TRIGGER posts_touch ON posts;
DROP FUNCTION touch();

COMMIT;
