-- one row per result (a batch of runs started together)
create or replace view stg_results as
select
    cast(result_id as bigint) as result_id,
    cast(name as varchar) as result_name,
    cast(agent_id as bigint) as agent_id,
    cast(agent_name as varchar) as agent_name,
    cast(agent_version as varchar) as agent_version,
    cast(agent_version_id as bigint) as agent_version_id,
    cast(status as varchar) as status,
    cast(success_rate as double) as success_rate,
    cast(run_as_text as boolean) as run_as_text,
    cast(is_cronjob as boolean) as is_cronjob,
    cast(run_type as varchar) as run_type,
    cast(total_runs_count as bigint) as total_runs_count,
    cast(completed_runs_count as bigint) as completed_runs_count,
    cast(success_runs_count as bigint) as success_runs_count,
    cast(failed_runs_count as bigint) as failed_runs_count,
    cast(met_expected_outcome_count as bigint) as met_expected_outcome_count,
    cast(total_expected_outcome_count as bigint) as total_expected_outcome_count,
    cast(created_at as timestamptz) as created_at,
    cast(updated_at as timestamptz) as updated_at,
    cast(extra_json as varchar) as extra_json
from {results}
