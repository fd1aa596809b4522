-- one row per scenario language: run-level success over terminal runs, Wilson 95 % interval
-- runs that never connected count as failures here (they have no metric results); runs
-- without a success flag are n_unknown
-- generated from cekura_analytics.warehouse.families by tools/gen_views.py
create or replace view run_success_by_language as
with counts as (
    -- aggregate on ids only, names are looked up afterwards (cheaper than text)
    select
        scenario_language,
        count(success) as n_evaluated,
        count(*) filter (where success) as n_passed,
        count(*) - count(success) as n_unknown
    from run_details
    where (is_terminal)
    group by scenario_language
)
select
    k.scenario_language,
    k.n_evaluated,
    k.n_passed,
    k.n_unknown,
    pass_rate(k.n_passed, k.n_evaluated) as pass_rate,
    wilson_low(k.n_passed, k.n_evaluated) as ci_low,
    wilson_high(k.n_passed, k.n_evaluated) as ci_high
from counts as k
order by k.scenario_language
