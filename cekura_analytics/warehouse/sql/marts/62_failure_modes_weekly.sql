-- one row per failure mode × week (Monday start, UTC) with at least one failed result
create or replace view failure_modes_weekly as
select
    mode_id,
    metric_id,
    any_value(metric_name) as metric_name,
    week_start,
    count(*) as n_failed
from failure_mode_members
group by mode_id, metric_id, week_start
order by metric_id, mode_id, week_start
