-- one row per run × metric (of a run stored twice after a crashed write, the rows stored in
-- the run_metrics part named like the runs part stg_runs kept, else in the newest part)
create or replace view stg_run_metrics as
with
dup as materialized (select run_id, chosen_part from stg_duplicate_runs),
raw as not materialized (
    select
        cast(run_id as bigint) as run_id,
        cast(metric_id as bigint) as metric_id,
        cast(metric_name as varchar) as metric_name,
        cast(metric_type as varchar) as metric_type,
        norm_eval_type(cast(eval_type as varchar)) as eval_type,
        cast(metric_passed as boolean) as metric_passed,
        cast(score as double) as score,
        cast(value as varchar) as value,
        cast(enum as varchar) as enum,
        cast(explanation as varchar) as explanation,
        cast(rubric_passed as boolean) as rubric_passed,
        cast(rubric_conditions as varchar) as rubric_conditions,
        cast(rubric_value as varchar) as rubric_value,
        cast(extra_json as varchar) as extra_json,
        parse_filename(filename) as part_file
    from {run_metrics}
)
select * exclude (part_file) from raw anti join dup using (run_id)
union all
select * exclude (part_file, chosen_part) from (
    select raw.*, dup.chosen_part from raw join dup using (run_id)
)
qualify dense_rank() over (
    partition by run_id
    order by part_file = chosen_part desc, length(part_file) desc, part_file desc
) = 1
