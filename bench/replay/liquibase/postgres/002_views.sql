--liquibase formatted sql

--changeset bob:1 dbms:postgresql
CREATE VIEW recent_posts AS SELECT p.id, p.title, u.email FROM posts p JOIN users u ON u.id = p.user_id;
--rollback DROP VIEW recent_posts;

--changeset bob:2 dbms:!postgresql
CREATE TABLE never_here (id integer);
--rollback DROP TABLE never_here;

--changeset bob:3 runOnChange:true
DELETE FROM users WHERE id = 2;
--rollback not required
