-- one row per failed result with a mode, from <data_dir>/failure_mode_members/
create or replace view stg_failure_mode_members as
select * from {failure_mode_members}
