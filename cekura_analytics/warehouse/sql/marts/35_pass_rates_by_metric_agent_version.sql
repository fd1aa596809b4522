-- one row per metric × agent × agent version: metric results passed / evaluated, Wilson 95 % interval
-- unknown results (no pass rule applies) are counted in n_unknown and left out of the rate
-- generated from cekura_analytics.warehouse.families by tools/gen_views.py
create or replace view pass_rates_by_metric_agent_version as
with counts as (
    -- aggregate on ids only, names are looked up afterwards (cheaper than text)
    select
        metric_id, agent_id, agent_version,
        any_value(metric_name) as metric_name,  -- one per metric_id
        count(passed) as n_evaluated,
        count(*) filter (where passed) as n_passed,
        count(*) - count(passed) as n_unknown
    from metric_results
    group by metric_id, agent_id, agent_version
)
select
    k.metric_id,
    k.metric_name,
    k.agent_id,
    k.agent_version,
    k.n_evaluated,
    k.n_passed,
    k.n_unknown,
    pass_rate(k.n_passed, k.n_evaluated) as pass_rate,
    wilson_low(k.n_passed, k.n_evaluated) as ci_low,
    wilson_high(k.n_passed, k.n_evaluated) as ci_high
from counts as k
order by k.metric_id, k.agent_id, k.agent_version
