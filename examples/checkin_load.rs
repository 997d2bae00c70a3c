//! A crowd of phones checking in while something breaks, for
//! `scripts/faults.sh`. Each worker sends check-ins (a site visit, then a
//! one-guest stay, in turn), each with an `Idempotency-Key` of its own, and
//! retries one until it is acknowledged, as the visitor page does: after the
//! `Retry-After` of a 503, or shortly after a refused or broken connection.
//! New check-ins are started for SECONDS; retries go on for at most GIVE_UP
//! more. Prints one line of `name=value` for the script to compare with what
//! the database stored.
//!
//! `checkin_load BASE_URL SITE_CODE HOTEL_CODE SECONDS [WORKERS [RUN]]`: RUN, a
//! digit, keeps the keys and document numbers of one run apart from another's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const GIVE_UP: Duration = Duration::from_secs(60);
/// A client that waits longer than this for one answer calls it a hang.
const HANG: Duration = Duration::from_secs(15);

#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    acknowledged: AtomicU64,
    first_try: AtomicU64,
    unavailable: AtomicU64,
    unavailable_without_retry_after: AtomicU64,
    refused: AtomicU64,
    hangs: AtomicU64,
    other: AtomicU64,
    abandoned: AtomicU64,
    slowest_ms: AtomicU64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, site, hotel, seconds, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: checkin_load BASE_URL SITE_CODE HOTEL_CODE SECONDS [WORKERS [RUN]]");
    };
    let workers: usize = rest.first().map_or(Ok(16), |w| w.parse())?;
    let run: u8 = rest.get(1).map_or(Ok(1), |r| r.parse())?;
    anyhow::ensure!(run <= 9, "RUN is one digit");
    let sending = Duration::from_secs(seconds.parse()?);
    let client = reqwest::Client::builder()
        .timeout(HANG)
        .pool_max_idle_per_host(workers)
        .build()?;
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let departure = (chrono::Local::now() + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let (client, tally) = (client.clone(), tally.clone());
        let url = format!("{base}/api/v1/checkins");
        let (site, hotel, departure) = (site.clone(), hotel.clone(), departure.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while started.elapsed() < sending {
                n += 1;
                let body = if n % 2 == 1 {
                    json!({"code": site, "party_size": 2, "origin_country": "VNM"})
                } else {
                    json!({"code": hotel, "expected_departure": departure, "purpose": "tourism", "consent": true,
                           "guests": [{"full_name": "Kim Min Jun", "date_of_birth": "1990-01-01",
                                       "sex": "M", "nationality": "KOR", "document_type": "passport",
                                       "document_number": format!("M{run}{worker:02}{n:05}")}]})
                };
                let key = format!("fault-{run}-{worker}-{n}");
                tally.sent.fetch_add(1, Ordering::Relaxed);
                send(&client, &url, &body, &key, &tally, started + sending + GIVE_UP).await;
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let t = |c: &AtomicU64| c.load(Ordering::Relaxed);
    println!(
        "sent={} acknowledged={} first_try={} unavailable={} unavailable_without_retry_after={} \
         refused={} hangs={} other={} abandoned={} slowest_ms={}",
        t(&tally.sent),
        t(&tally.acknowledged),
        t(&tally.first_try),
        t(&tally.unavailable),
        t(&tally.unavailable_without_retry_after),
        t(&tally.refused),
        t(&tally.hangs),
        t(&tally.other),
        t(&tally.abandoned),
        t(&tally.slowest_ms),
    );
    Ok(())
}

/// Send one check-in until it is acknowledged or the deadline passes.
async fn send(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
    key: &str,
    tally: &Tally,
    deadline: Instant,
) {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let at = Instant::now();
        let result = client
            .post(url)
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await;
        tally
            .slowest_ms
            .fetch_max(at.elapsed().as_millis() as u64, Ordering::Relaxed);
        let pause = match result {
            Ok(r) if r.status().is_success() => {
                tally.acknowledged.fetch_add(1, Ordering::Relaxed);
                if attempt == 1 {
                    tally.first_try.fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
            Ok(r) if r.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE => {
                tally.unavailable.fetch_add(1, Ordering::Relaxed);
                match r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                {
                    // Waited in full by a phone; shortened here to keep the run short.
                    Some(seconds) => Duration::from_millis(seconds.min(1) * 500),
                    None => {
                        tally
                            .unavailable_without_retry_after
                            .fetch_add(1, Ordering::Relaxed);
                        Duration::from_millis(500)
                    }
                }
            }
            Ok(r) => {
                tally.other.fetch_add(1, Ordering::Relaxed);
                let status = r.status();
                eprintln!("{key}: {status} {}", r.text().await.unwrap_or_default());
                Duration::from_millis(500)
            }
            Err(e) if e.is_timeout() => {
                tally.hangs.fetch_add(1, Ordering::Relaxed);
                Duration::ZERO
            }
            Err(_) => {
                tally.refused.fetch_add(1, Ordering::Relaxed);
                Duration::from_millis(200)
            }
        };
        if Instant::now() + pause > deadline {
            tally.abandoned.fetch_add(1, Ordering::Relaxed);
            return;
        }
        tokio::time::sleep(pause).await;
    }
}
