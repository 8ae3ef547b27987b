-- +goose Up
-- +goose StatementBegin
CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW
BEGIN
    SET NEW.updated_at = now();
    IF NEW.title = '' THEN
        SET NEW.title = 'untitled';
    END IF;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TABLE audit (id integer PRIMARY KEY, note text);
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER posts_touch;
DROP TABLE audit;
