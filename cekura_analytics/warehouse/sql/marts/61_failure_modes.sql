-- one row per failure mode: label, example and counts over its current members
-- share = n_failed / n_metric_failed (every failed result of the metric), Wilson 95 %;
-- mode_rank 1 = the metric's largest mode. Empty until `failure-modes` has run.
create or replace view failure_modes as
with
modes as (select * from stg_failure_modes),
counts as (
    select
        mode_id,
        count(*) as n_failed,
        count(distinct run_id) as n_runs,
        min(timestamp) as first_seen_at,
        max(timestamp) as last_seen_at
    from failure_mode_members
    group by mode_id
),
totals as (
    select metric_id, count(*) as n_metric_failed
    from metric_results
    where passed = false
    group by metric_id
)
select
    m.mode_id,
    m.metric_id,
    m.metric_name,
    m.label,
    coalesce(c.n_failed, 0) as n_failed,
    coalesce(t.n_metric_failed, 0) as n_metric_failed,
    pass_rate(coalesce(c.n_failed, 0), t.n_metric_failed) as share,
    wilson_low(coalesce(c.n_failed, 0), t.n_metric_failed) as share_ci_low,
    wilson_high(coalesce(c.n_failed, 0), t.n_metric_failed) as share_ci_high,
    coalesce(c.n_runs, 0) as n_runs,
    c.first_seen_at,
    c.last_seen_at,
    row_number() over (
        partition by m.metric_id order by coalesce(c.n_failed, 0) desc, m.mode_id
    ) as mode_rank,
    m.example_run_id,
    m.example_explanation,
    m.top_terms,
    m.origin,
    m.created_at
from modes as m
left join counts as c on c.mode_id = m.mode_id
left join totals as t on t.metric_id = m.metric_id
order by m.metric_id, mode_rank
