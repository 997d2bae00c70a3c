//! City statistics as DOMAIN.md defines them: arrivals, guest-nights,
//! same-day guests, length of stay, occupancy, attraction visitors, and the
//! live figures of today.

pub mod chart;
pub mod chart_data;
pub mod check;
pub mod compare;
pub mod compliance;
pub mod dashboard;
pub mod live;
pub mod pages;
pub mod raw;
pub mod repo;
pub mod report;
pub mod rollup;
pub mod routes;
pub mod stream;

/// ICAO nationality codes as statistics count them: British variants are
/// GBR, `D` is Germany; every other code stands as printed.
pub fn statistical_country(code: &str) -> &str {
    match code {
        "D" => "DEU",
        "GBD" | "GBN" | "GBO" | "GBP" | "GBS" => "GBR",
        other => other,
    }
}
