-- one row per agent × agent version: over reviewed runs, the judge's run verdict (every result
-- passed; unknown when none failed but some are unknown) against the reviewer's
-- (reviewed_success / reviewed_failure): the 2 × 2 counts and percent agreement
-- (Wilson 95 %); Cohen's kappa and its interval: analysis.reviews.review_agreement
-- generated from cekura_analytics.warehouse.families by tools/gen_views.py
create or replace view review_agreement as
with runs as (
    -- one row per reviewed run with metric results: the two verdicts (null: unknown)
    select
        run_id,
        agent_id,
        any_value(agent_version) as agent_version,
        any_value(is_judge_run_passed) as judge,
        any_value(is_reviewer_run_passed) as reviewer
    from reviewed_results
    group by run_id, agent_id
),
counts as (
    select
        agent_id, agent_version,
        count(*) as n_reviewed,
        count(*) filter (where judge and reviewer) as n_both_passed,
        count(*) filter (where judge and not reviewer) as n_judge_passed_reviewer_failed,
        count(*) filter (where not judge and reviewer) as n_judge_failed_reviewer_passed,
        count(*) filter (where not judge and not reviewer) as n_both_failed,
        count(*) filter (where judge is not null and reviewer is not null) as n_compared
    from runs
    group by agent_id, agent_version
)
select
    c.agent_id,
    a.agent_name,
    c.agent_version,
    c.n_reviewed,
    c.n_both_passed,
    c.n_judge_passed_reviewer_failed,
    c.n_judge_failed_reviewer_passed,
    c.n_both_failed,
    c.n_compared,
    c.n_reviewed - c.n_compared as n_unknown,
    pass_rate(c.n_both_passed + c.n_both_failed, c.n_compared) as agreement_rate,
    wilson_low(c.n_both_passed + c.n_both_failed, c.n_compared) as agreement_ci_low,
    wilson_high(c.n_both_passed + c.n_both_failed, c.n_compared) as agreement_ci_high
from counts as c
left join stg_agents as a on a.agent_id = c.agent_id
order by c.agent_id, c.agent_version
