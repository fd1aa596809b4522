-- one row per run × metric: the metric result with its pass/fail decided (passed null = unknown)
-- rule order: rubric passed -> binary: score >= 1 -> numeric / continuous_qualitative: score
-- vs the rubric's condition ('score gte 5'; gt, lte, lt, eq too), else >= the rules-file
-- threshold -> enum: value in the rules-file pass-set; anything else is unknown.
-- metric_name and eval_type come from metric_catalog (the metrics table, else what the
-- metric's run_metrics rows carry). Runs that never connected have no rows here.
create or replace view metric_results as
with
typed as (
    select
        rm.run_id,
        rm.metric_id,
        rm.score,
        coalesce(rm.value, rm.enum) as value,
        rm.rubric_passed,
        rm.rubric_conditions,
        c.metric_name,
        c.eval_type,
        c.rule_kind,
        c.rule_threshold,
        c.rule_pass_values
    from stg_run_metrics as rm
    left join metric_catalog as c on c.metric_id = rm.metric_id
),
conditions as (
    select
        *,
        -- the condition matters only for rule 3: 'score gte 5' is read by its prefix (cheap),
        -- other spellings ('score >= 5', 'GTE 5.5') by a regexp; unreadable ones count as none
        case
            when not needs_condition then null
            when starts_with(rubric_conditions, 'score gte ') then 'gte'
            when starts_with(rubric_conditions, 'score gt ') then 'gt'
            when starts_with(rubric_conditions, 'score lte ') then 'lte'
            when starts_with(rubric_conditions, 'score lt ') then 'lt'
            when starts_with(rubric_conditions, 'score eq ') then 'eq'
            else regexp_extract(lower(rubric_conditions), '^\s*(?:score\s*)?(gte|gt|lte|lt|eq|>=|>|<=|<|==|=)\s*-?[0-9]+(?:\.[0-9]+)?\s*$', 1)
        end as cond_word,
        case
            when not needs_condition then null
            when starts_with(rubric_conditions, 'score gte ')
                then try_cast(substr(rubric_conditions, 11) as double)
            when starts_with(rubric_conditions, 'score gt ')
                then try_cast(substr(rubric_conditions, 10) as double)
            when starts_with(rubric_conditions, 'score lte ')
                then try_cast(substr(rubric_conditions, 11) as double)
            when starts_with(rubric_conditions, 'score lt ')
                then try_cast(substr(rubric_conditions, 10) as double)
            when starts_with(rubric_conditions, 'score eq ')
                then try_cast(substr(rubric_conditions, 10) as double)
            else try_cast(regexp_extract(lower(rubric_conditions), '^\s*(?:score\s*)?(?:gte|gt|lte|lt|eq|>=|>|<=|<|==|=)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$', 1) as double)
        end as cond_threshold
    from (
        select
            *,
            coalesce(
                rubric_passed is null and rule_kind = 2 and rubric_conditions is not null, false
            ) as needs_condition
        from typed
    )
),
decided as (
    select
        * exclude (cond_word, needs_condition),
        case
            when cond_threshold is null then null
            when cond_word = '>=' then 'gte'
            when cond_word = '>' then 'gt'
            when cond_word = '<=' then 'lte'
            when cond_word = '<' then 'lt'
            when cond_word = '==' or cond_word = '=' then 'eq'
            else cond_word
        end as cond_op
    from conditions
)
select
    d.run_id,
    d.metric_id,
    d.metric_name,
    d.eval_type,
    case
        when d.rubric_passed is not null then d.rubric_passed
        when d.rule_kind = 1 then d.score >= 1
        when d.rule_kind = 2 then
            case d.cond_op
                when 'gte' then d.score >= d.cond_threshold
                when 'gt' then d.score > d.cond_threshold
                when 'lte' then d.score <= d.cond_threshold
                when 'lt' then d.score < d.cond_threshold
                when 'eq' then d.score = d.cond_threshold
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
    -- beyond the contract: the scenario's name, which rule decided (null = unknown) and the
    -- threshold the score was compared with
    r.scenario_name,
    case
        when d.rubric_passed is not null then 'rubric'
        when d.rule_kind = 1 and d.score is not null then 'binary'
        when d.rule_kind = 2 and d.score is not null and d.cond_op is not null
            then 'conditions'
        when d.rule_kind = 2 and d.score is not null and d.rule_threshold is not null
            then 'rules_threshold'
        when d.rule_kind = 3 and d.value is not null and d.rule_pass_values is not null
            then 'rules_pass_values'
    end as pass_rule,
    case
        when d.rubric_passed is null and d.rule_kind = 2
            then coalesce(case when d.cond_op is not null then d.cond_threshold end, d.rule_threshold)
    end as threshold
from decided as d
join run_details as r on r.run_id = d.run_id
