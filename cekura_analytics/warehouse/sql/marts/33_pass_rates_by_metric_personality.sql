-- one row per metric × personality: metric results passed / evaluated, scenario-clustered 95 % interval
-- unknown results (no pass rule applies) are counted in n_unknown and left out of the rate
-- generated from cekura_analytics.warehouse.families by tools/gen_views.py
create or replace view pass_rates_by_metric_personality as
with scenarios as (
    -- aggregate on ids only, names are looked up afterwards (cheaper than text)
    select
        metric_id, personality_id, scenario_id,
        cast(sum(n_evaluated) as bigint) as n,
        cast(sum(n_passed) as bigint) as k,
        cast(sum(n_unknown) as bigint) as u
    from metric_cells
    group by metric_id, personality_id, scenario_id
),
counts as (
    -- per cell: the counts, and the sums over its scenarios the clustered interval needs
    select
        metric_id, personality_id,
        cast(sum(n) as bigint) as n_evaluated,  -- a count, not a hugeint
        cast(sum(k) as bigint) as n_passed,
        cast(sum(u) as bigint) as n_unknown,
        count(*) filter (where n > 0) as n_scenarios,
        sum(k * k) as sum_kk,
        sum(k * n) as sum_kn,
        sum(n * n) as sum_nn
    from scenarios
    group by metric_id, personality_id
),
cells as (
    -- the quantile and the design effect once per cell (see clustered_low_qd)
    select
        *,
        cluster_quantile(n_scenarios) as quantile,
        design_effect(n_passed, n_evaluated, sum_kk, sum_kn, sum_nn, n_scenarios) as design_effect
    from counts
)
select
    k.metric_id,
    l0.metric_name,
    k.personality_id,
    l1.personality_name,
    k.n_evaluated,
    k.n_passed,
    k.n_unknown,
    k.n_scenarios,
    pass_rate(k.n_passed, k.n_evaluated) as pass_rate,
    clustered_low_qd(k.n_passed, k.n_evaluated, k.quantile, k.design_effect) as ci_low,
    clustered_high_qd(k.n_passed, k.n_evaluated, k.quantile, k.design_effect) as ci_high,
    k.design_effect
from cells as k
left join metric_catalog as l0 on l0.metric_id = k.metric_id
left join int_personalities as l1 on l1.personality_id = k.personality_id
order by k.metric_id, k.personality_id
