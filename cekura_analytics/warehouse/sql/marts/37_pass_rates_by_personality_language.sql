-- one row per personality × scenario language: metric results passed / evaluated, Wilson 95 % interval
-- unknown results (no pass rule applies) are counted in n_unknown and left out of the rate
-- generated from cekura_analytics.warehouse.families by tools/gen_views.py
create or replace view pass_rates_by_personality_language as
with counts as (
    -- aggregate on ids only, names are looked up afterwards (cheaper than text)
    select
        personality_id, scenario_language,
        count(passed) as n_evaluated,
        count(*) filter (where passed) as n_passed,
        count(*) - count(passed) as n_unknown
    from metric_results
    group by personality_id, scenario_language
)
select
    k.personality_id,
    l0.personality_name,
    k.scenario_language,
    k.n_evaluated,
    k.n_passed,
    k.n_unknown,
    pass_rate(k.n_passed, k.n_evaluated) as pass_rate,
    wilson_low(k.n_passed, k.n_evaluated) as ci_low,
    wilson_high(k.n_passed, k.n_evaluated) as ci_high
from counts as k
left join int_personalities as l0 on l0.personality_id = k.personality_id
order by k.personality_id, k.scenario_language
