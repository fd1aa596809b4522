-- one row per metric × scenario × personality × scenario language × agent × agent version:
-- its metric results evaluated, passed and unknown (the counts every pass-rate view without a
-- time dimension sums; a scenario stays a row, so the scenario-clustered interval can still
-- be computed from it; a million runs of 2,000 scenarios make about 120,000 rows). An in-memory connection computes it once per snapshot and rules and
-- keeps it in the data dir's cache (warehouse/cache.py).
create or replace view metric_cells as
select
    metric_id,
    scenario_id,
    personality_id,
    scenario_language,
    agent_id,
    agent_version,
    count(passed) as n_evaluated,
    count(*) filter (where passed) as n_passed,
    count(*) - count(passed) as n_unknown,
    -- what the version and flakiness questions need beside the counts
    any_value(metric_name) as metric_name,  -- one per metric_id (metric_catalog)
    min(agent_version_id) as agent_version_id,
    min(timestamp) as first_seen_at
from metric_results
group by metric_id, scenario_id, personality_id, scenario_language, agent_id, agent_version
