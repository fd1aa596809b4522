-- one row per source table: the Delta table version the views of this connection read
-- (null when the table did not exist), and the --as-of value that chose it (null: latest).
-- filled by cekura_analytics.views.connect
create or replace table table_versions (
    table_name varchar not null,
    version bigint,
    as_of varchar
);
