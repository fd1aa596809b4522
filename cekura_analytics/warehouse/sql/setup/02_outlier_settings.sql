-- one row per connection: the thresholds the outlier_runs view applies, from its variables
-- (cekura_analytics.warehouse.connection sets them from OUTLIER_SETTINGS; outliers() may change
-- them: variables belong to the connection, so cached views stay read-only)
create or replace view outlier_settings as
select
    -- a failure is surprising when its group passes this often ...
    cast(getvariable('outlier_min_group_pass_rate') as double) as min_group_pass_rate,
    -- ... over at least this many evaluated results
    cast(getvariable('outlier_min_group_results') as bigint) as min_group_results,
    -- numeric score: robust z <= -score_z
    cast(getvariable('outlier_score_z') as double) as score_z,
    -- duration: robust z >= duration_z
    cast(getvariable('outlier_duration_z') as double) as duration_z
