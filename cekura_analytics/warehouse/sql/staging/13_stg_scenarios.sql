-- one row per scenario of the scenarios table (renamed and cast; int_scenarios adds the
-- scenarios only runs mention)
create or replace view stg_scenarios as
select
    cast(scenario_id as bigint) as scenario_id,
    cast(name as varchar) as scenario_name,
    cast(agent_id as bigint) as agent_id,
    cast(agent_name as varchar) as agent_name,
    cast(personality_id as bigint) as personality_id,
    cast(personality_name as varchar) as personality_name,
    cast(scenario_language as varchar) as scenario_language,
    cast(scenario_type as varchar) as scenario_type,
    cast(tags as varchar[]) as tags,
    cast(folder_path as varchar) as folder_path,
    cast(instructions as varchar) as instructions,
    cast(expected_outcome_prompt as varchar) as expected_outcome_prompt,
    cast(first_message as varchar) as first_message,
    cast(metric_ids as bigint[]) as metric_ids,
    cast(metric_names as varchar[]) as metric_names,
    cast(test_profile_id as bigint) as test_profile_id,
    cast(created_at as timestamptz) as created_at,
    cast(updated_at as timestamptz) as updated_at,
    cast(extra_json as varchar) as extra_json
from {scenarios}
