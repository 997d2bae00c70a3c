//! `luutru stats check`: every figure the office reads, computed from the
//! rollups and from the raw tables by plain GROUP BY queries, compared, and
//! timed. An operator runs it to trust the rollups; `scripts/bench.sh stats`
//! runs it to measure them.

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate};
use sqlx::PgPool;

use super::dashboard::figures;
use super::repo::{summary_from, Source};
use crate::error::Result;

/// One measured case: its name, whether both sources agree, and the
/// latencies of each.
pub struct Case {
    pub name: &'static str,
    pub same: bool,
    pub rollups: Vec<Duration>,
    pub raw: Vec<Duration>,
}

/// The `q` quantile (0..=1) of `samples`, nearest rank.
pub fn quantile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or_default()
}

/// Run `f` once to warm up, then `runs` times; the answers must all agree.
async fn timed<T: PartialEq, F: Future<Output = Result<T>>>(
    runs: usize,
    mut f: impl FnMut() -> F,
) -> Result<(T, Vec<Duration>, bool)> {
    let first = f().await?;
    let mut times = Vec::with_capacity(runs);
    let mut stable = true;
    for _ in 0..runs {
        let start = Instant::now();
        let again = f().await?;
        times.push(start.elapsed());
        stable &= again == first;
    }
    Ok((first, times, stable))
}

async fn case<T: PartialEq, F: Future<Output = Result<T>>>(
    name: &'static str,
    (runs, raw_runs): (usize, usize),
    f: impl Fn(Source) -> F,
) -> Result<Case> {
    let (raw, raw_times, raw_stable) = timed(raw_runs, || f(Source::Raw)).await?;
    let (kept, kept_times, kept_stable) = timed(runs, || f(Source::Rollups)).await?;
    Ok(Case {
        name,
        same: raw == kept && raw_stable && kept_stable,
        rollups: kept_times,
        raw: raw_times,
    })
}

/// The summary of last month, of the last 365 days, and the office page's
/// figures for this month.
pub async fn run(
    pool: &PgPool,
    today: NaiveDate,
    tz: chrono_tz::Tz,
    runs: (usize, usize),
) -> Result<Vec<Case>> {
    let this_month = today.with_day(1).unwrap_or(today);
    let last_day = this_month.pred_opt().unwrap_or(today);
    let last_month = last_day.with_day(1).unwrap_or(last_day);
    let year_ago = today - chrono::Duration::days(364);
    Ok(vec![
        case("summary, one month", runs, |source| {
            summary_from(source, pool, last_month, last_day, today, None, tz)
        })
        .await?,
        case("summary, one year", runs, |source| {
            summary_from(source, pool, year_ago, today, today, None, tz)
        })
        .await?,
        case("office dashboard", runs, |source| {
            figures(source, pool, (this_month, today), today, tz)
        })
        .await?,
    ])
}

/// The table `luutru stats check` prints.
pub fn report(cases: &[Case]) -> String {
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1000.0);
    let mut out = String::from(
        "case                 | same | rollups p50 ms | p95 ms | raw p50 ms | p95 ms | p50 ratio | p95 ratio\n",
    );
    for c in cases {
        let (kp50, kp95) = (quantile(&c.rollups, 0.5), quantile(&c.rollups, 0.95));
        let (rp50, rp95) = (quantile(&c.raw, 0.5), quantile(&c.raw, 0.95));
        let ratio =
            |raw: Duration, kept: Duration| raw.as_secs_f64() / kept.as_secs_f64().max(1e-9);
        out.push_str(&format!(
            "{:<20} | {:<4} | {:>14} | {:>6} | {:>10} | {:>6} | {:>8.0}× | {:>8.0}×\n",
            c.name,
            if c.same { "yes" } else { "NO" },
            ms(kp50),
            ms(kp95),
            ms(rp50),
            ms(rp95),
            ratio(rp50, kp50),
            ratio(rp95, kp95),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let ms = |n: u64| Duration::from_millis(n);
        let samples: Vec<Duration> = (1..=20).rev().map(ms).collect();
        assert_eq!(quantile(&samples, 0.5), ms(10));
        assert_eq!(quantile(&samples, 0.95), ms(19));
        assert_eq!(quantile(&samples[..1], 0.95), ms(20));
    }
}
