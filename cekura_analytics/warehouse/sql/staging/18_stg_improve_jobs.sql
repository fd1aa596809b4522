-- one row per improve job of the ledger <data_dir>/improve_jobs/ (empty without one)
create or replace view stg_improve_jobs as
select * from {improve_jobs}
