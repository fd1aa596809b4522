-- one row per metric: on reviewed runs, its failed results and how many a reviewer overturned
-- (the critical category naming the metric marked wrongly_marked), Wilson 95 %; and
-- the missed rate: of its passed results on runs where every result passed, the runs
-- the reviewer failed. A missed problem is known per run only, so each such run counts
-- once for every metric it has (run-level attribution: an upper bound per metric)
-- generated from cekura_analytics.warehouse.families by tools/gen_views.py
create or replace view metric_review_agreement as
with counts as (
    select
        metric_id,
        any_value(metric_name) as metric_name,
        count(distinct run_id) as n_reviewed_runs,
        count(*) filter (where passed = false) as n_reviewed_failed,
        count(*) filter (where passed = false and is_overturned) as n_overturned,
        count(*) filter (
            where passed and is_judge_run_passed and is_reviewer_run_passed is not null
        ) as n_reviewed_passed,
        count(*) filter (where passed and is_judge_run_passed and not is_reviewer_run_passed) as n_missed
    from reviewed_results
    group by metric_id
)
select
    metric_id,
    metric_name,
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
order by metric_id
