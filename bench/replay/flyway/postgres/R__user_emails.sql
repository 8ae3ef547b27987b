DROP VIEW IF EXISTS user_emails;
CREATE VIEW user_emails AS SELECT email FROM users;
