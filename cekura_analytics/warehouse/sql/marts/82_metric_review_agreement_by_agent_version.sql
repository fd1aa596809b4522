-- one row per metric × agent × agent version: metric_review_agreement per agent version
-- generated from cekura_analytics.warehouse.families by tools/gen_views.py
create or replace view metric_review_agreement_by_agent_version as
with counts as (
    select
        metric_id, agent_id, agent_version,
        any_value(metric_name) as metric_name,
        count(distinct run_id) as n_reviewed_runs,
        count(*) filter (where passed = false) as n_reviewed_failed,
        count(*) filter (where passed = false and is_overturned) as n_overturned,
        count(*) filter (
            where passed and is_judge_run_passed and is_reviewer_run_passed is not null
        ) as n_reviewed_passed,
        count(*) filter (where passed and is_judge_run_passed and not is_reviewer_run_passed) as n_missed
    from reviewed_results
    group by metric_id, agent_id, agent_version
)
select
    metric_id,
    metric_name,
    agent_id,
    agent_version,
    n_reviewed_runs,
    n_reviewed_failed,
    n_overturned,
    pass_rate(n_overturned, n_reviewed_failed) as overturn_rate,
    wilson_low(n_overturned, n_reviewed_failed) as overturn_ci_low,
    wilson_high(n_overturned, n_reviewed_failed) as overturn_ci_high,
    n_reviewed_passed,
    n_missed,
    pass_rate(n_missed, n_reviewed_passed) as missed_rate,
    wilson_low(n_missed, n_reviewed_passed) as missed_ci_low,
    wilson_high(n_missed, n_reviewed_passed) as missed_ci_high
from counts
order by metric_id, agent_id, agent_version
