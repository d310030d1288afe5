DROP TABLE visits;
DROP TABLE links;
