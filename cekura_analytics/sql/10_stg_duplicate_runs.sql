-- one row per run stored in more than one runs part: normally none (a crashed write can leave
-- a copy until the extractor's next sync removes it). Only parts whose run_id range (from the
-- parquet statistics, no data read) overlaps another part's are scanned, so on a compacted
-- store this costs next to nothing. chosen_part: the part whose copy stg_runs keeps, the
-- newest part that also has its run_metrics part (a crash between the two writes leaves a
-- runs part without one)
create or replace view stg_duplicate_runs as
with
parts as (
    -- a part without statistics might hold any run_id
    select
        part_path,
        coalesce(min_run_id, -9223372036854775808) as lo,
        coalesce(max_run_id, 9223372036854775807) as hi
    from {runs_parts}
),
overlapping as (
    select distinct a.part_path
    from parts as a
    join parts as b on a.part_path <> b.part_path and a.lo <= b.hi and b.lo <= a.hi
),
copies as (
    select cast(run_id as bigint) as run_id, filename as part_path
    from {runs}
    where filename in (select part_path from overlapping)
),
metric_parts as (
    select parse_filename(part_path) as part_file from {run_metrics_files}
)
select
    run_id,
    count(*) as copies,
    arg_max(
        parse_filename(part_path),
        -- part-<seq>.parquet: a longer name is a bigger seq, equal lengths compare as names
        {
            'paired': parse_filename(part_path) in (select part_file from metric_parts),
            'len': length(parse_filename(part_path)),
            'name': parse_filename(part_path)
        }
    ) as chosen_part
from copies
group by run_id
having count(*) > 1
