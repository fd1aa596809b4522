-- one row per finished improve-prompt job × targeted metric (a metric the job's run failed):
-- "before" is the agent version the run used, "after" the same agent's next version first seen
-- after the job finished (null: not yet shipped), each with its pass counts, scenarios and
-- scenario-clustered 95 % interval over all of that version's results. Only jobs that
-- produced a suggestion count (status completed); instructions jobs change scenarios, not the
-- agent, and are left out.
-- The comparison of before vs after (scenario by scenario) and the verdict:
-- cekura_analytics.improve.impact.improve_impact.
create or replace view improve_impact as
with
targets as (
    select
        job_id,
        run_id,
        agent_id,
        agent_version as before_version,
        finished_at,
        unnest(failed_metric_ids) as metric_id,
        unnest(failed_metrics) as metric_name
    from improve_jobs
    where kind = 'prompt' and status = 'completed' and agent_version is not null
),
versions as (
    -- the counted cells (metric_cells) hold each version's first result: no row-level scan
    select m.agent_id, m.agent_version, min(m.first_seen_at) as first_seen_at
    from metric_cells as m
    semi join (select distinct agent_id from targets) as a on a.agent_id = m.agent_id
    where m.agent_version is not null
    group by m.agent_id, m.agent_version
),
shipped as (
    -- the first version of the job's agent whose first result came after the job finished
    select t.job_id, v.agent_version as after_version, v.first_seen_at as after_first_seen_at
    from (select distinct job_id, agent_id, before_version, finished_at from targets) as t
    join versions as v
        on v.agent_id = t.agent_id
        and v.first_seen_at > t.finished_at
        and v.agent_version <> t.before_version
    qualify row_number() over (partition by t.job_id order by v.first_seen_at, v.agent_version) = 1
),
wanted as (
    -- only the versions and metrics some job targets: nothing is counted without a ledger
    select distinct agent_id, before_version as agent_version, metric_id from targets
    union
    select distinct t.agent_id, s.after_version, t.metric_id
    from targets as t
    join shipped as s on s.job_id = t.job_id
),
per_scenario as (
    select
        m.agent_id,
        m.agent_version,
        m.metric_id,
        m.scenario_id,
        cast(sum(m.n_evaluated) as bigint) as n,
        cast(sum(m.n_passed) as bigint) as k
    from metric_cells as m
    semi join wanted as w
        on w.agent_id = m.agent_id
        and w.agent_version = m.agent_version
        and w.metric_id = m.metric_id
    group by m.agent_id, m.agent_version, m.metric_id, m.scenario_id
),
counts as (
    select
        agent_id,
        agent_version,
        metric_id,
        sum(n) as n_evaluated,
        sum(k) as n_passed,
        count(*) filter (where n > 0) as n_scenarios,
        sum(k * k) as kk,
        sum(k * n) as kn,
        sum(n * n) as nn
    from per_scenario
    group by agent_id, agent_version, metric_id
),
effects as (
    -- the quantile and the design effect once per row (see clustered_low_qd)
    select
        *,
        cluster_quantile(n_scenarios) as quantile,
        design_effect(n_passed, n_evaluated, kk, kn, nn, n_scenarios) as design_effect
    from counts
)
select
    t.job_id,
    t.run_id,
    t.agent_id,
    t.metric_id,
    t.metric_name,
    t.finished_at,
    t.before_version,
    s.after_version,
    s.after_first_seen_at,
    coalesce(b.n_evaluated, 0) as n_before,
    coalesce(b.n_passed, 0) as n_passed_before,
    coalesce(b.n_scenarios, 0) as n_scenarios_before,
    pass_rate(b.n_passed, b.n_evaluated) as pass_rate_before,
    clustered_low_qd(b.n_passed, b.n_evaluated, b.quantile, b.design_effect) as ci_low_before,
    clustered_high_qd(b.n_passed, b.n_evaluated, b.quantile, b.design_effect) as ci_high_before,
    coalesce(a.n_evaluated, 0) as n_after,
    coalesce(a.n_passed, 0) as n_passed_after,
    coalesce(a.n_scenarios, 0) as n_scenarios_after,
    pass_rate(a.n_passed, a.n_evaluated) as pass_rate_after,
    clustered_low_qd(a.n_passed, a.n_evaluated, a.quantile, a.design_effect) as ci_low_after,
    clustered_high_qd(a.n_passed, a.n_evaluated, a.quantile, a.design_effect) as ci_high_after,
    pass_rate(a.n_passed, a.n_evaluated) - pass_rate(b.n_passed, b.n_evaluated) as naive_change
from targets as t
left join shipped as s on s.job_id = t.job_id
left join effects as b
    on b.agent_id = t.agent_id and b.agent_version = t.before_version and b.metric_id = t.metric_id
left join effects as a
    on a.agent_id = t.agent_id and a.agent_version = s.after_version and a.metric_id = t.metric_id
order by t.finished_at, t.job_id, t.metric_name
