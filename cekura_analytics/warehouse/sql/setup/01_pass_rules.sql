-- one row per rules-file key (a metric name or a metric id written as a string)
-- filled by cekura_analytics.views.connect from the TOML rules file; empty without one
create or replace table pass_rules (
    metric_key varchar not null,     -- the key as written in the rules file
    metric_id_key bigint,            -- the key read as a metric id, when it is an integer
    threshold double,                -- numeric / continuous_qualitative: pass when score >= threshold
    pass_values varchar[]            -- enum: pass when the value is one of these
);
