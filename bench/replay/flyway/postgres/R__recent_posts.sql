DROP VIEW IF EXISTS recent_posts;
CREATE VIEW recent_posts AS SELECT p.id, p.title, u.email FROM posts p JOIN users u ON u.id = p.user_id;
