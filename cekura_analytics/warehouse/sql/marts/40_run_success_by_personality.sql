-- one row per personality: run-level success over terminal runs, Wilson 95 % interval
-- runs that never connected count as failures here (they have no metric results); runs
-- without a success flag are n_unknown
-- generated from cekura_analytics.warehouse.families by tools/gen_views.py
create or replace view run_success_by_personality as
with counts as (
    -- aggregate on ids only, names are looked up afterwards (cheaper than text)
    select
        personality_id,
        count(success) as n_evaluated,
        count(*) filter (where success) as n_passed,
        count(*) - count(success) as n_unknown
    from run_details
    where (is_terminal)
    group by personality_id
)
select
    k.personality_id,
    l0.personality_name,
    k.n_evaluated,
    k.n_passed,
    k.n_unknown,
    pass_rate(k.n_passed, k.n_evaluated) as pass_rate,
    wilson_low(k.n_passed, k.n_evaluated) as ci_low,
    wilson_high(k.n_passed, k.n_evaluated) as ci_high
from counts as k
left join int_personalities as l0 on l0.personality_id = k.personality_id
order by k.personality_id
