-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION touch();
-- +goose StatementBegin
CREATE TABLE audit (id integer PRIMARY KEY, note text); COMMENT ON TABLE audit IS 'two statements; one block';
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER posts_touch ON posts;
DROP FUNCTION touch();
DROP TABLE audit;
