-- one row per scenario: the scenarios table, plus a row (its id and the name the runs carry,
-- nulls elsewhere) for each scenario id that only runs mention
create or replace view int_scenarios as
select * from stg_scenarios
union all by name
select
    scenario_id,
    max(scenario_name) as scenario_name
from stg_runs
where scenario_id is not null
    and scenario_id not in (select scenario_id from stg_scenarios where scenario_id is not null)
group by scenario_id
