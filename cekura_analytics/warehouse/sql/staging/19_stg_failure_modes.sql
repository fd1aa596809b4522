-- one row per failure mode of <data_dir>/failure_modes/ (empty until `failure-modes` ran)
create or replace view stg_failure_modes as
select * from {failure_modes}
