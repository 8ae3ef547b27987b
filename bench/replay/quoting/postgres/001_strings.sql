CREATE VIEW p1 AS SELECT 'a\' AS x; CREATE VIEW p2 AS SELECT E'it\'s; here' AS y;
CREATE VIEW p3 AS SELECT $t$ ; $x$ ; $t$ AS z, $$;$$ AS w;
/* outer /* nested ; */ still comment ; */
CREATE VIEW p4 AS SELECT U&'d\0061t; a' AS u, "x;y".n FROM (SELECT 1 AS n) AS "x;y";
CREATE VIEW p5 AS SELECT 1 --1 AS v
 AS v;
CREATE TABLE p6 (a int CHECK (a > 0), b text DEFAULT ';');
CREATE RULE r6 AS ON INSERT TO p6 WHERE false DO INSTEAD (SELECT 1; SELECT 2);
