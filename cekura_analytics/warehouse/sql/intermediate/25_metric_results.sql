-- one row per run × metric: the metric result with its pass/fail decided (passed null = unknown)
-- rule order (the one definition of the pass rule): rubric passed -> the
-- metric item's own passed (canonical binary) -> binary: score >= 1 (0/1, boolean, legacy
-- 0/5) -> numeric / continuous_qualitative: score vs the rubric's condition ('score gte 5';
-- gt, lte, lt, eq too), else >= the rules-file threshold -> enum: value in the rules-file
-- pass-set; anything else is unknown. pass_rule names the step that decided.
-- metric_name and eval_type come from metric_catalog (the metrics table, else what the
-- metric's run_metrics rows carry); value is run_metrics.value, else its enum. Runs that
-- never connected have no rows here.
create or replace view metric_results as
with
conditions as (
    -- the rubric's condition parsed straight off the scan, where text columns are still
    -- dictionary-encoded (one parse per distinct condition, not per row): 'score gte 5' by
    -- its prefix, other spellings ('score >= 5', 'GTE 5.5') by a regexp; unreadable -> none.
    -- cond_code: 1 gte, 2 gt, 3 lte, 4 lt, 5 eq
    select
        *,
        case
            when rubric_conditions is null then null
            when starts_with(rubric_conditions, 'score gte ')
                then {'code': 1, 'threshold': try_cast(substr(rubric_conditions, 11) as double)}
            when starts_with(rubric_conditions, 'score gt ')
                then {'code': 2, 'threshold': try_cast(substr(rubric_conditions, 10) as double)}
            when starts_with(rubric_conditions, 'score lte ')
                then {'code': 3, 'threshold': try_cast(substr(rubric_conditions, 11) as double)}
            when starts_with(rubric_conditions, 'score lt ')
                then {'code': 4, 'threshold': try_cast(substr(rubric_conditions, 10) as double)}
            when starts_with(rubric_conditions, 'score eq ')
                then {'code': 5, 'threshold': try_cast(substr(rubric_conditions, 10) as double)}
            else {
                'code': case regexp_extract(
                        lower(rubric_conditions),
                        '^\s*(?:score\s*)?(gte|gt|lte|lt|eq|>=|>|<=|<|==|=)\s*-?[0-9]+(?:\.[0-9]+)?\s*$',
                        1
                    )
                    when 'gte' then 1 when '>=' then 1
                    when 'gt' then 2 when '>' then 2
                    when 'lte' then 3 when '<=' then 3
                    when 'lt' then 4 when '<' then 4
                    when 'eq' then 5 when '==' then 5 when '=' then 5
                end,
                'threshold': try_cast(
                    regexp_extract(
                        lower(rubric_conditions),
                        '^\s*(?:score\s*)?(?:gte|gt|lte|lt|eq|>=|>|<=|<|==|=)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$',
                        1
                    ) as double
                )
            }
        end as cond
    from stg_run_metrics
),
decided as (
    select
        rm.run_id,
        rm.metric_id,
        rm.score,
        coalesce(rm.value, rm.enum) as value,
        rm.rubric_passed,
        rm.metric_passed,
        c.metric_name,
        c.eval_type,
        c.rule_kind,
        c.rule_threshold,
        c.rule_pass_values,
        case when rm.cond.threshold is not null then rm.cond.code end as cond_code,
        rm.cond.threshold as cond_threshold
    from conditions as rm
    left join metric_catalog as c on c.metric_id = rm.metric_id
)
select
    d.run_id,
    d.metric_id,
    d.metric_name,
    d.eval_type,
    case
        when d.rubric_passed is not null then d.rubric_passed
        when d.metric_passed is not null then d.metric_passed
        when d.rule_kind = 1 then d.score >= 1
        when d.rule_kind = 2 then
            case d.cond_code
                when 1 then d.score >= d.cond_threshold
                when 2 then d.score > d.cond_threshold
                when 3 then d.score <= d.cond_threshold
                when 4 then d.score < d.cond_threshold
                when 5 then d.score = d.cond_threshold
                else d.score >= d.rule_threshold
            end
        when d.rule_kind = 3 then list_contains(d.rule_pass_values, d.value)
    end as passed,
    d.score,
    d.value,
    r.personality_id,
    r.personality_name,
    r.scenario_id,
    r.scenario_language,
    r.agent_id,
    r.agent_version,
    r.result_id,
    r.day,
    r.timestamp,
    -- beyond the contract: the scenario's name, the UTC week, the version's id, which rule decided (null = unknown) and the
    -- threshold the score was compared with
    r.scenario_name,
    r.week,
    r.agent_version_id,
    case
        when d.rubric_passed is not null then 'rubric'
        when d.metric_passed is not null then 'metric_passed'
        when d.rule_kind = 1 and d.score is not null then 'binary'
        when d.rule_kind = 2 and d.score is not null and d.cond_code is not null
            then 'conditions'
        when d.rule_kind = 2 and d.score is not null and d.rule_threshold is not null
            then 'rules_threshold'
        when d.rule_kind = 3 and d.value is not null and d.rule_pass_values is not null
            then 'rules_pass_values'
    end as pass_rule,
    case
        when d.rubric_passed is null and d.metric_passed is null and d.rule_kind = 2
            then coalesce(case when d.cond_code is not null then d.cond_threshold end, d.rule_threshold)
    end as threshold
from decided as d
join run_details as r on r.run_id = d.run_id
