-- one row per scenario × metric × agent version with at least 2 evaluated runs: is_flaky when
-- both outcomes were seen; outcomes = P / F per run in run order (timestamp, run_id);
-- example_failed_run_id = the latest failed run. Results without a pass verdict and
-- runs without a scenario are left out; runs without a known agent version make one
-- cell of their own (agent_version null)
-- generated from cekura_analytics.warehouse.families by tools/gen_views.py
create or replace view flaky_scenarios as
select
    scenario_id,
    any_value(scenario_name) as scenario_name,
    metric_id,
    any_value(metric_name) as metric_name,
    agent_id,
    agent_version,
    count(*) as n_runs,
    count(*) filter (where passed) as n_passed,
    pass_rate(count(*) filter (where passed), count(*)) as pass_rate,
    bool_or(passed) and bool_or(not passed) as is_flaky,
    string_agg(if(passed, 'P', 'F'), '' order by timestamp, run_id) as outcomes,
    min(timestamp) as first_run_at,
    max(timestamp) as last_run_at,
    -- the latest failed run, to look at
    arg_max(run_id, (timestamp, run_id)) filter (where not passed) as example_failed_run_id
from metric_results
where (passed is not null and scenario_id is not null)
group by scenario_id, metric_id, agent_id, agent_version
having count(*) >= 2
order by metric_id, scenario_id, agent_id, agent_version
