-- +goose Up
-- +goose StatementBegin
CREATE TRIGGER posts_touch AFTER UPDATE ON posts FOR EACH ROW
BEGIN
    UPDATE posts SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
    SELECT CASE WHEN NEW.title = '' THEN RAISE(ABORT, 'empty title; give one') END;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TABLE audit (id integer PRIMARY KEY, note text);
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER posts_touch;
DROP TABLE audit;
