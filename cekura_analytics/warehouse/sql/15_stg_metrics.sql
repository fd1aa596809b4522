-- one row per metric definition, eval_type normalised ('Continuous-Qualitative' ->
-- 'continuous_qualitative'); a metric id that only run_metrics mention (not in the metrics
-- table) gets a row with the name and type its run_metrics rows carry, and a defined metric
-- without eval_type gets the type its run_metrics rows carry
create or replace view stg_metrics as
with defined as (
    select
        cast(metric_id as bigint) as metric_id,
        cast(name as varchar) as metric_name,
        cast(slug as varchar) as slug,
        cast(description as varchar) as description,
        cast(type as varchar) as type,
        norm_eval_type(cast(eval_type as varchar)) as eval_type,
        cast(enum_values as varchar[]) as enum_values,
        cast(agent_ids as bigint[]) as agent_ids,
        cast(project_id as bigint) as project_id,
        cast(display_order as bigint) as display_order,
        cast(extra_json as varchar) as extra_json
    from {metrics}
),
fallback as (
    -- metrics without a definition or without an eval_type: what their run_metrics rows carry
    -- (two cheap passes: which ids need it, integers only; then their names and types)
    select
        cast(metric_id as bigint) as metric_id,
        max(cast(metric_name as varchar)) as metric_name,
        norm_eval_type(max(coalesce(cast(eval_type as varchar), cast(metric_type as varchar))))
            as eval_type
    from {run_metrics}
    semi join (
        select metric_id
        from (select distinct metric_id from {run_metrics})
        where metric_id is not null
            and metric_id not in (
                select metric_id from defined where metric_id is not null and eval_type is not null
            )
    ) as wanted using (metric_id)
    group by 1
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
from defined as d
full join fallback as f on f.metric_id = d.metric_id
