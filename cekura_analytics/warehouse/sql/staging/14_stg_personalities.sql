-- one row per personality of the personalities table (renamed and cast; int_personalities
-- adds the personalities only runs mention)
create or replace view stg_personalities as
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
