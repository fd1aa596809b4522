-- one row per failed result (run × metric) that has a failure mode, with the run's context
-- (the table <data_dir>/failure_mode_members/ that `failure-modes` writes; empty without it).
-- A member whose result no longer fails (e.g. a changed rules file) is left out.
create or replace view failure_mode_members as
with
members as (select * from stg_failure_mode_members)
select
    m.run_id,
    m.metric_id,
    m.mode_id,
    m.similarity,
    m.assigned_by,
    m.assigned_at,
    r.metric_name,
    r.agent_id,
    r.agent_version,
    r.personality_id,
    r.personality_name,
    r.scenario_id,
    r.scenario_language,
    r.result_id,
    r.timestamp,
    cast(date_trunc('week', r.timestamp) as date) as week_start
from members as m
join metric_results as r
    on r.run_id = m.run_id and r.metric_id = m.metric_id and r.passed = false
