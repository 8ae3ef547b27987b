-- Deploy blog:touch_posts to sqlite

BEGIN;

CREATE TRIGGER posts_touch AFTER UPDATE ON posts FOR EACH ROW
BEGIN
    UPDATE posts SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
    SELECT CASE WHEN NEW.title = '' THEN RAISE(ABORT, 'empty title; give one') END;
END;

COMMIT;
