-- one row per metric id seen in metrics or run_metrics: name, eval_type and its pass rules
-- name and eval_type come from the metrics table, else from the metric's run_metrics rows;
-- a rules-file key equal to the metric id wins over one equal to its name
create or replace view metric_catalog as
select
    c.metric_id,
    c.metric_name,
    c.eval_type,
    -- which rule applies when the rubric gave no passed
    rule_kind(c.eval_type) as rule_kind,
    c.enum_values,
    coalesce(by_id.threshold, by_name.threshold) as rule_threshold,
    coalesce(by_id.pass_values, by_name.pass_values) as rule_pass_values
from int_metrics as c
left join pass_rules as by_id on by_id.metric_id_key = c.metric_id
left join pass_rules as by_name on by_name.metric_key = c.metric_name
