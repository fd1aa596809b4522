-- one row per metric definition of the metrics table (renamed and cast; eval_type was
-- normalised at extraction; int_metrics adds the metrics only run_metrics mention)
create or replace view stg_metrics as
select
    cast(metric_id as bigint) as metric_id,
    cast(name as varchar) as metric_name,
    cast(slug as varchar) as slug,
    cast(description as varchar) as description,
    cast(type as varchar) as type,
    cast(eval_type as varchar) as eval_type,
    cast(enum_values as varchar[]) as enum_values,
    cast(agent_ids as bigint[]) as agent_ids,
    cast(project_id as bigint) as project_id,
    cast(display_order as bigint) as display_order,
    cast(extra_json as varchar) as extra_json
from {metrics}
