-- one row per run × metric (a run's rows are replaced whole when the run is fetched again;
-- rows of a run not in stg_runs, left by a crash between the two commits, are dropped by
-- the joins of the 20+ views and replaced by the next extract)
create or replace view stg_run_metrics as
select
    cast(run_id as bigint) as run_id,
    cast(metric_id as bigint) as metric_id,
    cast(metric_name as varchar) as metric_name,
    cast(metric_type as varchar) as metric_type,
    cast(eval_type as varchar) as eval_type,
    cast(metric_passed as boolean) as metric_passed,
    cast(score as double) as score,
    cast(value as varchar) as value,
    cast(enum as varchar) as enum,
    cast(explanation as varchar) as explanation,
    cast(rubric_passed as boolean) as rubric_passed,
    cast(rubric_conditions as varchar) as rubric_conditions,
    cast(rubric_value as varchar) as rubric_value,
    cast(extra_json as varchar) as extra_json
from {run_metrics}
