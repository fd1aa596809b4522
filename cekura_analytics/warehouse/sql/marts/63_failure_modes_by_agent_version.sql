-- one row per failure mode × agent version: its failed results there, as a share
-- of the metric's failed results with a mode in that slice (Wilson 95 %)
-- generated from cekura_analytics.warehouse.families by tools/gen_views.py
create or replace view failure_modes_by_agent_version as
with counts as (
    select
        mode_id,
        metric_id,
        any_value(metric_name) as metric_name,
        agent_id,
        agent_version,
        count(*) as n_failed
    from failure_mode_members
    group by mode_id, metric_id, agent_id, agent_version
)
select
    *,
    sum(n_failed) over (partition by metric_id, agent_id, agent_version) as n_slice_failed,
    pass_rate(n_failed, sum(n_failed) over (partition by metric_id, agent_id, agent_version)) as share,
    wilson_low(n_failed, sum(n_failed) over (partition by metric_id, agent_id, agent_version)) as share_ci_low,
    wilson_high(n_failed, sum(n_failed) over (partition by metric_id, agent_id, agent_version)) as share_ci_high
from counts
order by metric_id, mode_id, agent_id, agent_version
