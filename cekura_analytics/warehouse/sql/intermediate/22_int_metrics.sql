-- one row per metric id seen in metrics or run_metrics: a metric without a definition, or
-- defined without an eval_type, gets the name and eval_type its run_metrics rows carry
create or replace view int_metrics as
with
fallback as (
    -- two cheap passes: which ids need it (integers only), then their names and types
    select
        metric_id,
        max(metric_name) as metric_name,
        max(eval_type) as eval_type
    from stg_run_metrics
    semi join (
        select metric_id
        from (select distinct metric_id from stg_run_metrics)
        where metric_id is not null
            and metric_id not in (
                select metric_id from stg_metrics
                where metric_id is not null and eval_type is not null
            )
    ) as wanted using (metric_id)
    group by metric_id
)
select
    coalesce(d.metric_id, f.metric_id) as metric_id,
    coalesce(d.metric_name, f.metric_name) as metric_name,
    d.slug,
    d.description,
    d.type,
    coalesce(d.eval_type, f.eval_type) as eval_type,
    d.enum_values,
    d.agent_ids,
    d.project_id,
    d.display_order,
    d.extra_json
from stg_metrics as d
full join fallback as f on f.metric_id = d.metric_id
