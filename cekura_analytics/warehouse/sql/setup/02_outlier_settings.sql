-- one row: the thresholds the outlier_runs view applies; filled by
-- cekura_analytics.warehouse.connection.connect from OUTLIER_SETTINGS (outliers() may change them)
create or replace table outlier_settings (
    min_group_pass_rate double not null,  -- a failure is surprising when its group passes this often
    min_group_results bigint not null,    -- ... over at least this many evaluated results
    score_z double not null,              -- numeric score: robust z <= -score_z
    duration_z double not null            -- duration: robust z >= duration_z
);
