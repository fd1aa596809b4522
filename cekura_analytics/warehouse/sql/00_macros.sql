-- macros (no rows): Wilson 95 % score interval for k successes out of n trials
-- wilson_low / wilson_high are null when n = 0; z = 1.959964 (two-sided 95 %)
create or replace macro wilson_low(k, n) as
    case
        when n > 0 and k <= 0 then 0.0
        when n > 0 then greatest(
            0.0,
            (
                k / n + 1.959964 ^ 2 / (2 * n)
                - 1.959964 * sqrt(k / n * (1 - k / n) / n + 1.959964 ^ 2 / (4 * n * n))
            ) / (1 + 1.959964 ^ 2 / n)
        )
    end;

create or replace macro wilson_high(k, n) as
    case
        when n > 0 and k >= n then 1.0
        when n > 0 then least(
            1.0,
            (
                k / n + 1.959964 ^ 2 / (2 * n)
                + 1.959964 * sqrt(k / n * (1 - k / n) / n + 1.959964 ^ 2 / (4 * n * n))
            ) / (1 + 1.959964 ^ 2 / n)
        )
    end;

create or replace macro pass_rate(k, n) as case when n > 0 then k / n end;

-- 'Continuous-Qualitative ' -> 'continuous_qualitative', legacy binary names -> 'binary'
-- (tables.normalise_eval_type does the same in Python)
create or replace macro norm_eval_type(t) as
    case nullif(replace(replace(lower(trim(t)), '-', '_'), ' ', '_'), '')
        when 'binary_workflow_adherence' then 'binary'
        when 'binary_qualitative' then 'binary'
        else nullif(replace(replace(lower(trim(t)), '-', '_'), ' ', '_'), '')
    end;

-- which pass rule applies when the rubric gave no passed: 1 binary, 2 threshold, 3 enum, 0 none
create or replace macro rule_kind(eval_type) as
    case eval_type
        when 'binary' then 1
        when 'numeric' then 2
        when 'continuous_qualitative' then 2
        when 'enum' then 3
        else 0
    end::utinyint;
