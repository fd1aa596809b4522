-- one row per run, with its scenario, personality, language and agent version resolved
-- personality_id falls back to the scenario's; names come from the scenarios / personalities
-- tables (else the name the runs carry, see stg_*); scenario_language falls back to the
-- personality's language; agent_version to the result's; day is the UTC date
create or replace view run_details as
select
    r.run_id,
    r.result_id,
    r.scenario_id,
    s.scenario_name,
    coalesce(r.personality_id, s.personality_id) as personality_id,
    p.personality_name,
    coalesce(s.scenario_language, p.language) as scenario_language,
    r.agent_id,
    r.agent_name,
    coalesce(r.agent_version, res.agent_version) as agent_version,
    r.status,
    coalesce(lower(r.status) in ('completed', 'failed', 'timeout', 'cancelled'), false)
        as is_terminal,
    r.success,
    r.error_message,
    r.duration_s,
    r.timestamp,
    cast(timezone('UTC', r.timestamp) as date) as day
from stg_runs as r
left join stg_scenarios as s on s.scenario_id = r.scenario_id
left join stg_personalities as p
    on p.personality_id = coalesce(r.personality_id, s.personality_id)
left join stg_results as res on res.result_id = r.result_id
