-- +goose Up
-- +goose StatementBegin
CREATE PROCEDURE post_count(IN uid integer, OUT n integer)
BEGIN
    SELECT count(*) INTO n FROM posts WHERE user_id = uid;
END;
-- +goose StatementEnd

-- +goose Down
DROP PROCEDURE post_count;
