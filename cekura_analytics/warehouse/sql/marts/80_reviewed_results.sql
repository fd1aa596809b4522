-- one row per metric result (run × metric) of a reviewed run: the judge's verdict (passed),
-- whether a reviewer overturned it, and the run's two verdicts.
-- A run is reviewed when is_reviewed is true or its evaluation_status is reviewed_success /
-- reviewed_failure (the reviewer's verdict: is_reviewer_run_passed; null when the status
-- says neither). A failed result is overturned when the critical categories naming its
-- metric (category_id = metric_id, else the category name = the metric name, case and
-- surrounding spaces ignored) are all marked wrongly_marked. is_judge_run_passed: false when
-- a result of the run failed, true when every result passed, null when none failed but some
-- are unknown (no pass rule applies). Runs without metric results have no rows here.
create or replace view reviewed_results as
with
reviewed as (
    select
        run_id,
        case lower(evaluation_status)
            when 'reviewed_success' then true
            when 'reviewed_failure' then false
        end as is_reviewer_run_passed,
        feedback as run_feedback,
        -- a list of category objects; anything else (null, an object, bad JSON) holds none
        case
            when json_valid(critical_categories_json)
                and json_type(critical_categories_json) = 'ARRAY'
                then json_extract(critical_categories_json, '$[*]')
        end as categories
    from stg_runs
    where is_reviewed or lower(evaluation_status) in ('reviewed_success', 'reviewed_failure')
),
categories as (
    -- one row per critical category of a reviewed run, numbered within the run
    select
        run_id,
        position,
        try_cast(category ->> 'category_id' as bigint) as category_id,
        lower(trim(category ->> 'category')) as category_key,
        coalesce(try_cast(category ->> 'wrongly_marked' as boolean), false) as is_wrongly_marked,
        category ->> 'feedback' as review_feedback,
        category ->> 'priority' as review_priority
    from (
        select run_id, unnest(categories) as category, unnest(range(len(categories))) as position
        from reviewed
        where len(categories) > 0
    )
),
results as (
    select
        m.run_id,
        m.metric_id,
        m.metric_name,
        m.passed,
        m.scenario_id,
        m.agent_id,
        m.agent_version,
        m.timestamp,
        m.week
    from metric_results as m
    semi join reviewed as r on r.run_id = m.run_id
),
by_id as (
    select c.run_id, c.position, r.metric_id
    from categories as c
    join results as r on r.run_id = c.run_id and r.metric_id = c.category_id
),
matched as (
    -- each category names one metric of its run: by id, else by name
    select * from by_id
    union all
    select c.run_id, c.position, r.metric_id
    from categories as c
    join results as r on r.run_id = c.run_id and lower(trim(r.metric_name)) = c.category_key
    anti join by_id as b on b.run_id = c.run_id and b.position = c.position
),
marks as (
    select
        m.run_id,
        m.metric_id,
        bool_and(c.is_wrongly_marked) as is_overturned,
        string_agg(nullif(c.review_feedback, ''), ' / ' order by c.position) as review_feedback,
        string_agg(c.review_priority, ' / ' order by c.position) as review_priority
    from matched as m
    join categories as c on c.run_id = m.run_id and c.position = m.position
    group by m.run_id, m.metric_id
),
verdicts as (
    select
        run_id,
        case
            when bool_or(passed = false) then false
            when count(passed) = count(*) then true
        end as is_judge_run_passed
    from results
    group by run_id
)
select
    r.run_id,
    r.metric_id,
    r.metric_name,
    r.scenario_id,
    r.agent_id,
    r.agent_version,
    r.timestamp,
    r.week,
    r.passed,
    coalesce(r.passed = false and k.is_overturned, false) as is_overturned,
    k.review_feedback,
    k.review_priority,
    v.is_judge_run_passed,
    rv.is_reviewer_run_passed,
    rv.run_feedback
from results as r
join reviewed as rv on rv.run_id = r.run_id
join verdicts as v on v.run_id = r.run_id
left join marks as k on k.run_id = r.run_id and k.metric_id = r.metric_id
