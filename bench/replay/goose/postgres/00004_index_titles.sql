-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY posts_title ON posts (title);

-- +goose Down
DROP INDEX CONCURRENTLY posts_title;
