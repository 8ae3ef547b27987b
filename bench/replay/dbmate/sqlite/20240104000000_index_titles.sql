-- migrate:up transaction:false
CREATE INDEX posts_title ON posts (title);

-- migrate:down transaction:false
DROP INDEX posts_title;
