-- one row per agent under test
create or replace view stg_agents as
select
    cast(agent_id as bigint) as agent_id,
    cast(agent_name as varchar) as agent_name,
    cast(project_id as bigint) as project_id,
    cast(description as varchar) as description,
    cast(language as varchar) as language,
    cast(inbound as boolean) as inbound,
    cast(assistant_provider as varchar) as assistant_provider,
    cast(transcript_provider as varchar) as transcript_provider,
    cast(llm_model as varchar) as llm_model,
    cast(llm_system_prompt as varchar) as llm_system_prompt,
    cast(agent_speaks_first as boolean) as agent_speaks_first,
    cast(provider_json as varchar) as provider_json,
    cast(telephony_json as varchar) as telephony_json,
    cast(created_at as timestamptz) as created_at,
    cast(updated_at as timestamptz) as updated_at,
    cast(extra_json as varchar) as extra_json
from {agents}
