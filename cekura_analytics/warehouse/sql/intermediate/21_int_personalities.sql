-- one row per personality: the personalities table, plus a row (its id and the name the runs
-- carry, nulls elsewhere) for each personality id that only runs mention
create or replace view int_personalities as
select * from stg_personalities
union all by name
select
    personality_id,
    max(personality_name) as personality_name
from stg_runs
where personality_id is not null
    and personality_id not in (
        select personality_id from stg_personalities where personality_id is not null
    )
group by personality_id
