-- one row per failure mode × personality: its failed results there, as a share
-- of the metric's failed results with a mode in that slice (Wilson 95 %)
-- generated from cekura_analytics.warehouse.families by tools/gen_views.py
create or replace view failure_modes_by_personality as
with counts as (
    select
        mode_id,
        metric_id,
        any_value(metric_name) as metric_name,
        personality_id,
        personality_name,
        count(*) as n_failed
    from failure_mode_members
    group by mode_id, metric_id, personality_id, personality_name
)
select
    *,
    sum(n_failed) over (partition by metric_id, personality_id, personality_name) as n_slice_failed,
    pass_rate(n_failed, sum(n_failed) over (partition by metric_id, personality_id, personality_name)) as share,
    wilson_low(n_failed, sum(n_failed) over (partition by metric_id, personality_id, personality_name)) as share_ci_low,
    wilson_high(n_failed, sum(n_failed) over (partition by metric_id, personality_id, personality_name)) as share_ci_high
from counts
order by metric_id, mode_id, personality_id, personality_name
