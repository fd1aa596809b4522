-- one row per run (of a run stored twice after a crashed write, the copy in
-- stg_duplicate_runs.chosen_part)
create or replace view stg_runs as
with
dup as materialized (select run_id, chosen_part from stg_duplicate_runs),
raw as not materialized (
    select
        cast(run_id as bigint) as run_id,
        cast(result_id as bigint) as result_id,
        cast(result_name as varchar) as result_name,
        cast(scenario_id as bigint) as scenario_id,
        cast(scenario_name as varchar) as scenario_name,
        cast(scenario_type as varchar) as scenario_type,
        cast(personality_id as bigint) as personality_id,
        cast(personality_name as varchar) as personality_name,
        cast(agent_id as bigint) as agent_id,
        cast(agent_name as varchar) as agent_name,
        cast(agent_version as varchar) as agent_version,
        cast(agent_version_id as bigint) as agent_version_id,
        cast(status as varchar) as status,
        cast(success as boolean) as success,
        cast(evaluation_status as varchar) as evaluation_status,
        cast(is_reviewed as boolean) as is_reviewed,
        cast(error_message as varchar) as error_message,
        cast(duration as varchar) as duration,
        cast(duration_s as bigint) as duration_s,
        cast(timestamp as timestamptz) as timestamp,
        cast(executed_at as timestamptz) as executed_at,
        cast(run_as_text as boolean) as run_as_text,
        cast(run_type as varchar) as run_type,
        cast(provider_call_id as varchar) as provider_call_id,
        cast(trace_id as varchar) as trace_id,
        cast(expected_outcome_prompt as varchar) as expected_outcome_prompt,
        cast(expected_outcome_score as double) as expected_outcome_score,
        cast(expected_outcome_json as varchar) as expected_outcome_json,
        cast(scenario_instructions as varchar) as scenario_instructions,
        cast(transcript as varchar) as transcript,
        cast(voice_recording_url as varchar) as voice_recording_url,
        cast(feedback as varchar) as feedback,
        cast(n_metrics as bigint) as n_metrics,
        cast(critical_categories_json as varchar) as critical_categories_json,
        cast(metadata_json as varchar) as metadata_json,
        cast(extra_json as varchar) as extra_json,
        parse_filename(filename) as part_file
    from {runs}
)
select * exclude (part_file) from raw anti join dup using (run_id)
union all
select raw.* exclude (part_file)
from raw
semi join dup on dup.run_id = raw.run_id and dup.chosen_part = raw.part_file
