-- macros (no rows): the scenario-clustered interval and Student's t quantile
-- generated from cekura_analytics.analysis.stats.sql_macros by tools/gen_views.py
-- Student's t 0.975 quantile for integer df >= 1 (null below): exact values up to df =
-- 30, then the Cornish-Fisher expansion (error < 4e-8); stats.t_quantile_975
create or replace macro t975(df) as
    case
        when df >= 1 and df <= 30 then [
            12.706204736174696, 4.302652729749458, 3.182446305283707, 2.776445105197791,
            2.570581835636314, 2.446911851144968, 2.364624251592783, 2.3060041352041662,
            2.2621571627982044, 2.2281388519862744, 2.2009851600916392, 2.1788128296672262,
            2.1603686564627904, 2.1447866879178026, 2.1314495455597737, 2.1199052992212537,
            2.1098155778333165, 2.1009220402410356, 2.093024054408311, 2.085963447265865,
            2.0796138447276795, 2.0738730679040227, 2.0686576104190473, 2.0638985616280223,
            2.0595385527532954, 2.0555294386428713, 2.051830516480287, 2.0484071417952454,
            2.0452296421327043, 2.0422724563012413
        ][cast(df as integer)]
        when df > 30 then
            1.959963984540054
            + 2.372271230298562 / df
            + 2.8224986157396112 / df ^ 2
            + 2.555849679507722 / df ^ 3
            + 1.5895340533938225 / df ^ 4
    end;

-- Wilson bounds at rate p with u = z^2 / n (n may be an effective, fractional count);
-- stats.wilson_bounds
create or replace macro wilson_low_u(p, u) as
    case
        when p <= 0 then 0.0
        else greatest(0.0, (p + u / 2 - sqrt(u * p * (1 - p) + u * u / 4)) / (1 + u))
    end;

create or replace macro wilson_high_u(p, u) as
    case
        when p >= 1 then 1.0
        else least(1.0, (p + u / 2 + sqrt(u * p * (1 - p) + u * u / 4)) / (1 + u))
    end;

-- the clustered interval's quantile: t(0.975, c - 1), or 1.959964 with fewer than 2 scenarios
create or replace macro cluster_quantile(c) as
    case when c >= 2 then t975(c - 1) else 1.959964 end;

-- scenario-clustered pass rates (issue 17; stats.clustered_from_sums) from per-cell sums over
-- scenarios: k = sum(k_i), n = sum(n_i), kk = sum(k_i^2), kn = sum(k_i * n_i),
-- nn = sum(n_i^2), c = number of scenarios. sum((k_i - p n_i)^2) = kk - 2 p kn + p^2 nn, so
-- design_effect = c / (c - 1) * that * n / (k (n - k)), at least 1; 1 when p is 0 or 1 or
-- c < 2; null when n = 0
create or replace macro design_effect(k, n, kk, kn, nn, c) as
    case
        when n > 0 and (c < 2 or k <= 0 or k >= n) then 1.0
        when n > 0 then greatest(
            1.0,
            c / (c - 1) * (kk - 2 * (k / n) * kn + (k / n) ^ 2 * nn) * n
            / (cast(k as double) * (n - k))
        )
    end;

-- the interval from the quantile q = cluster_quantile(c) and the design effect d, given as
-- values: a query that computes q and d once per cell (as columns) and passes them here
-- binds a small expression (macros are inlined: wilson_low_u names u five times, and u
-- would carry t975 and design_effect five times over)
create or replace macro clustered_low_qd(k, n, q, d) as
    case when n > 0 then wilson_low_u(k / n, q ^ 2 * d / n) end;

create or replace macro clustered_high_qd(k, n, q, d) as
    case when n > 0 then wilson_high_u(k / n, q ^ 2 * d / n) end;

create or replace macro clustered_low(k, n, kk, kn, nn, c) as
    clustered_low_qd(k, n, cluster_quantile(c), design_effect(k, n, kk, kn, nn, c));

create or replace macro clustered_high(k, n, kk, kn, nn, c) as
    clustered_high_qd(k, n, cluster_quantile(c), design_effect(k, n, kk, kn, nn, c));
