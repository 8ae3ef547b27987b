DROP TABLE instructors;
