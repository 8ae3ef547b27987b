-- Revert blog:touch_posts from mysql

DROP TRIGGER posts_touch;
