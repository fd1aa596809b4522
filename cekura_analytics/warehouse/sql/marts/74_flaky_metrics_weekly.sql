-- one row per metric × UTC week (Monday): the shares of that week's flaky_scenarios_weekly cells
-- that always passed, flipped and always failed, scenario-clustered 95 % intervals
-- generated from cekura_analytics.warehouse.families by tools/gen_views.py
create or replace view flaky_metrics_weekly as
with cells as (
    select
        scenario_id,
        metric_id,
        any_value(metric_name) as metric_name,
        agent_id,
        agent_version,
        week,
        count(*) as n_runs,
        count(*) filter (where passed) as n_passed
    from metric_results
    where (passed is not null and scenario_id is not null)
    group by scenario_id, metric_id, agent_id, agent_version, week
    having count(*) >= 2
),
scenarios as (
    -- per scenario: its cells in the group (one per agent version, or per week) by kind
    select
        metric_id, week,
        scenario_id,
        any_value(metric_name) as metric_name,
        count(*) as n,
        count(*) filter (where n_passed = n_runs) as k_always_passed,
        count(*) filter (where n_passed > 0 and n_passed < n_runs) as k_flaky,
        count(*) filter (where n_passed = 0) as k_always_failed,
        sum(n_runs) as runs,
        sum(n_passed) as passed
    from cells
    group by metric_id, week, scenario_id
),
sums as (
    -- per group: the counts, and the sums over scenarios the clustered interval needs
    select
        metric_id, week,
        any_value(metric_name) as metric_name,
        count(*) as n_scenarios,
        cast(sum(n) as bigint) as n_cells,
        sum(n * n) as nn,
        cast(sum(k_always_passed) as bigint) as n_always_passed,
        sum(k_always_passed * k_always_passed) as kk_always_passed,
        sum(k_always_passed * n) as kn_always_passed,
        cast(sum(k_flaky) as bigint) as n_flaky,
        sum(k_flaky * k_flaky) as kk_flaky,
        sum(k_flaky * n) as kn_flaky,
        cast(sum(k_always_failed) as bigint) as n_always_failed,
        sum(k_always_failed * k_always_failed) as kk_always_failed,
        sum(k_always_failed * n) as kn_always_failed,
        cast(sum(runs) as bigint) as n_runs,
        cast(sum(passed) as bigint) as n_passed
    from scenarios
    group by metric_id, week
),
effects as (
    -- the quantile and each share's design effect once per group (binding the
    -- clustered_low/high macros six times over costs more than the query itself)
    select
        *,
        cluster_quantile(n_scenarios) as quantile,
        design_effect(n_always_passed, n_cells, kk_always_passed, kn_always_passed, nn, n_scenarios) as design_effect_always_passed,
        design_effect(n_flaky, n_cells, kk_flaky, kn_flaky, nn, n_scenarios) as design_effect_flaky,
        design_effect(n_always_failed, n_cells, kk_always_failed, kn_always_failed, nn, n_scenarios) as design_effect_always_failed
    from sums
)
select
    metric_id,
    metric_name,
    week,
    n_scenarios,
    n_cells,
    n_runs,
    n_runs / n_cells as runs_per_cell,
    pass_rate(n_passed, n_runs) as pass_rate,
    n_always_passed,
    pass_rate(n_always_passed, n_cells) as share_always_passed,
    clustered_low_qd(n_always_passed, n_cells, quantile, design_effect_always_passed) as always_passed_ci_low,
    clustered_high_qd(n_always_passed, n_cells, quantile, design_effect_always_passed) as always_passed_ci_high,
    n_flaky,
    pass_rate(n_flaky, n_cells) as share_flaky,
    clustered_low_qd(n_flaky, n_cells, quantile, design_effect_flaky) as flaky_ci_low,
    clustered_high_qd(n_flaky, n_cells, quantile, design_effect_flaky) as flaky_ci_high,
    n_always_failed,
    pass_rate(n_always_failed, n_cells) as share_always_failed,
    clustered_low_qd(n_always_failed, n_cells, quantile, design_effect_always_failed) as always_failed_ci_low,
    clustered_high_qd(n_always_failed, n_cells, quantile, design_effect_always_failed) as always_failed_ci_high
from effects
order by metric_id, week
