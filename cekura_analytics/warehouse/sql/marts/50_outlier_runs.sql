-- one row per outlier run, most surprising first: a run is an outlier when
--   1. it failed a metric that usually passes for its scenario (the scenario × metric group
--      passes >= min_group_pass_rate of >= min_group_results evaluated results, this run's
--      included); it adds the group's pass rate to the score;
--   2. a numeric / continuous_qualitative score is a low outlier for its metric: robust
--      z (robust_z: 0.6745 (score - median) / MAD) <= -score_z; it adds |z| / score_z;
--   3. its duration is a high outlier among terminal runs: robust z >= duration_z; it adds
--      z / duration_z.
-- Thresholds come from outlier_settings. reasons: one readable line per rule that fired, in
-- order of weight; failed_metrics: every metric the run failed (by name).
create or replace view outlier_runs as
with
settings as (
    select min_group_pass_rate, min_group_results, score_z, duration_z
    from outlier_settings
    limit 1
),
-- the metric results once, narrow (names are looked up for the reasons only)
results as materialized (
    select
        run_id,
        metric_id,
        scenario_id,
        passed,
        case when eval_type in ('numeric', 'continuous_qualitative') then score end as score
    from metric_results
),
names as (select metric_id, metric_name from metric_catalog),
groups as (
    -- from the counted cells (metric_cells): the same counts without a pass over the results
    select
        scenario_id,
        metric_id,
        cast(sum(n_evaluated) as bigint) as n,
        cast(sum(n_passed) as bigint) as k
    from metric_cells
    where scenario_id is not null
    group by scenario_id, metric_id
),
surprising_failures as (
    select
        r.run_id,
        g.k / g.n as weight,
        format(
            'failed ''{}'' which passes {}% (n={}) for scenario ''{}''',
            coalesce(m.metric_name, 'metric ' || r.metric_id),
            cast(round(100.0 * g.k / g.n) as integer),
            g.n,
            coalesce(sc.scenario_name, 'scenario ' || r.scenario_id)
        ) as reason
    from results as r
    join groups as g on g.scenario_id = r.scenario_id and g.metric_id = r.metric_id
    cross join settings as s
    left join names as m on m.metric_id = r.metric_id
    left join int_scenarios as sc on sc.scenario_id = r.scenario_id
    where r.passed = false and g.n >= s.min_group_results and g.k / g.n >= s.min_group_pass_rate
),
score_stats as (
    select metric_id, median(score) as med, mad(score) as mad
    from results
    where score is not null
    group by metric_id
),
low_scores as (
    select
        r.run_id,
        abs(robust_z(r.score, st.med, st.mad)) / s.score_z as weight,
        format(
            'scored {:g} on ''{}'', a low outlier (robust z {:.1f}; median {:g}, MAD {:g})',
            r.score,
            coalesce(m.metric_name, 'metric ' || r.metric_id),
            robust_z(r.score, st.med, st.mad),
            st.med,
            st.mad
        ) as reason
    from results as r
    join score_stats as st on st.metric_id = r.metric_id
    cross join settings as s
    left join names as m on m.metric_id = r.metric_id
    where
        st.mad > 0
        and robust_z(r.score, st.med, st.mad) <= -s.score_z
),
durations as (
    select run_id, duration_s from run_details where is_terminal and duration_s is not null
),
duration_stats as (
    select median(duration_s) as med, mad(duration_s) as mad from durations
),
long_runs as (
    select
        d.run_id,
        robust_z(d.duration_s, st.med, st.mad) / s.duration_z as weight,
        format(
            'lasted {} s, a high outlier (robust z {:.1f}; median {:g} s, MAD {:g} s)',
            d.duration_s,
            robust_z(d.duration_s, st.med, st.mad),
            st.med,
            st.mad
        ) as reason
    from durations as d
    cross join duration_stats as st
    cross join settings as s
    where st.mad > 0 and robust_z(d.duration_s, st.med, st.mad) >= s.duration_z
),
fired as (
    select run_id, weight, reason from surprising_failures
    union all
    select run_id, weight, reason from low_scores
    union all
    select run_id, weight, reason from long_runs
),
scored as (
    select
        run_id,
        sum(weight) as outlier_score,
        list(reason order by weight desc, reason) as reasons
    from fired
    group by run_id
),
failed as (
    select r.run_id, list(distinct m.metric_name order by m.metric_name) as failed_metrics
    from results as r
    semi join scored as s on s.run_id = r.run_id
    left join names as m on m.metric_id = r.metric_id
    where r.passed = false
    group by r.run_id
)
select
    s.run_id,
    s.outlier_score,
    s.reasons,
    coalesce(f.failed_metrics, []::varchar[]) as failed_metrics
from scored as s
left join failed as f on f.run_id = s.run_id
order by s.outlier_score desc, s.run_id
