CREATE VIEW m1 AS SELECT 'it\'s; here' AS x; CREATE VIEW m2 AS SELECT "dq; str" AS y;
CREATE VIEW m3 AS SELECT 1 --1 AS z;
# hash comment; with semicolon
CREATE VIEW m4 AS SELECT 2 AS w; -- trailing; comment
/* block ; comment */ CREATE VIEW m5 AS SELECT `a;b` FROM (SELECT 1 AS `a;b`) t;
/*!50001 CREATE VIEW m6 AS SELECT 6 AS six */;
CREATE VIEW m7 AS SELECT 'a''b;c' AS q, 'x\\' AS r;
