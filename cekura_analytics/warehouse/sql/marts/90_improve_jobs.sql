-- one row per improve job (the ledger <data_dir>/improve_jobs/ that `improve launch` / `collect`
-- write), with the run's failed metrics: what the suggestion targeted. Empty without a ledger.
-- failed_metrics: the metrics the run failed (metric_results.passed = false), by name
create or replace view improve_jobs as
with
ledger as (select * from stg_improve_jobs),
failed as (
    select
        run_id,
        list(metric_name order by metric_name) as failed_metrics,
        list(metric_id order by metric_name) as failed_metric_ids
    from metric_results
    -- the ledger's runs only: a handful of runs, not every failed result
    semi join ledger using (run_id)
    where passed = false
    group by run_id
)
select
    l.job_id,
    l.kind,
    l.status,
    l.run_id,
    coalesce(l.scenario_id, r.scenario_id) as scenario_id,
    r.scenario_name,
    r.personality_name,
    r.scenario_language,
    coalesce(l.agent_id, r.agent_id) as agent_id,
    r.agent_version,
    r.success as run_success,
    coalesce(f.failed_metrics, []) as failed_metrics,
    coalesce(f.failed_metric_ids, []) as failed_metric_ids,
    l.mode_id,  -- the failure mode the run was picked for (`improve launch --per-mode`)
    l.prompt_sha256,
    l.progress_id,
    l.created_at,
    l.launched_at,
    l.finished_at,
    l.attempts,
    l.polls,
    l.improved_prompt,
    l.summary_of_changes,
    l.error,
    l.message,
    l.prompt,
    l.extra_instructions
from ledger as l
left join run_details as r on r.run_id = l.run_id
left join failed as f on f.run_id = l.run_id
