-- Deploy blog:touch_posts to mysql

DELIMITER //
CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW
BEGIN
    SET NEW.updated_at = now();
    IF NEW.title = '' THEN
        SET NEW.title = 'untitled';
    END IF;
END//
DELIMITER ;
