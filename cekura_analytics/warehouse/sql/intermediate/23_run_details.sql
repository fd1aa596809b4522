-- one row per run, with its scenario, personality, language and agent version resolved
-- personality_id falls back to the scenario's; names come from the scenarios / personalities
-- tables (else the name the runs carry, see int_*); scenario_language falls back to the
-- personality's language; agent_version to the result's; day is the UTC date and week its
-- Monday.
-- A version the API named somewhere (v2 sends {history_id, version_name}) carries that name
-- on every run with its id, also where another endpoint or era sent only the id.
create or replace view run_details as
with version_names as (
    select agent_version_id, max(agent_version) as version_name
    from stg_runs
    where agent_version_id is not null
        and agent_version is distinct from cast(agent_version_id as varchar)
    group by agent_version_id
)
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
    coalesce(vn.version_name, r.agent_version, res.agent_version) as agent_version,
    r.status,
    coalesce(is_terminal_status(r.status), false) as is_terminal,
    r.success,
    r.error_message,
    r.duration_s,
    r.timestamp,
    cast(timezone('UTC', r.timestamp) as date) as day,
    cast(date_trunc('week', timezone('UTC', r.timestamp)) as date) as week,
    r.agent_version_id
from stg_runs as r
left join int_scenarios as s on s.scenario_id = r.scenario_id
left join int_personalities as p
    on p.personality_id = coalesce(r.personality_id, s.personality_id)
left join stg_results as res on res.result_id = r.result_id
left join version_names as vn on vn.agent_version_id = r.agent_version_id
