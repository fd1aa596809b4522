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

-- robust z of x among values with this median and MAD (median absolute deviation):
-- 0.6745 = the normal quantile at 0.75, so a normal sample's robust z is its usual z
create or replace macro robust_z(x, med, mad) as 0.6745 * (x - med) / mad;

-- which pass rule applies when the rubric gave no passed: 1 binary, 2 threshold, 3 enum, 0 none
create or replace macro rule_kind(eval_type) as
    case eval_type
        when 'binary' then 1
        when 'numeric' then 2
        when 'continuous_qualitative' then 2
        when 'enum' then 3
        else 0
    end::utinyint;
