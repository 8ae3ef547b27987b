DROP TRIGGER posts_touch;
