-- migrate:up
CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW
BEGIN
    SET NEW.updated_at = now();
    IF NEW.title = '' THEN
        SET NEW.title = 'untitled';
    END IF;
END;

-- migrate:down
DROP TRIGGER posts_touch;
