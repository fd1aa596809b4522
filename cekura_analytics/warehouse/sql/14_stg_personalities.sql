-- one row per personality (simulated caller); a personality id that only runs mention (not in
-- the personalities table) gets a row with the name the runs carry and nulls elsewhere
create or replace view stg_personalities as
with defined as (
    select
        cast(personality_id as bigint) as personality_id,
        cast(name as varchar) as personality_name,
        cast(language as varchar) as language,
        cast(accent as varchar) as accent,
        cast(gender as varchar) as gender,
        cast(background_noise as varchar) as background_noise,
        cast(voice_model as varchar) as voice_model,
        cast(voice_id as varchar) as voice_id,
        cast(interruption_level as varchar) as interruption_level,
        cast(speed as varchar) as speed,
        cast(provider as varchar) as provider,
        cast(prompt as varchar) as prompt,
        cast(extra_json as varchar) as extra_json
    from {personalities}
)
select * from defined
union all by name
select
    cast(personality_id as bigint) as personality_id,
    max(cast(personality_name as varchar)) as personality_name
from {runs}
where personality_id is not null
    and personality_id not in (
        select personality_id from defined where personality_id is not null
    )
group by 1
