//! Group commit for site visits. At a holiday peak a lighthouse counts in a
//! party every few milliseconds; written one by one, each would cost a
//! transaction of several round trips and a commit of its own. Instead the
//! count-ins that arrive while the writers are busy wait in a queue, and the
//! next free writer takes all of them and writes them in one transaction of
//! multi-row statements: their idempotency keys, the repeat check of their
//! phones, the visits and the stored answers. Each request is answered only
//! after that commit, and the live figures of the places it touched are
//! refreshed once for the batch; when the transaction fails, every request of the batch
//! gets the error and nothing of the batch is stored.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, Mutex};
use uuid::Uuid;

use super::repo::EarlierVisit;
use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::idempotency::{self, Claim};
use crate::localtime;

/// Writers working at once for each kind, each with one connection while it
/// writes. Two keep PostgreSQL busy while one waits for its commit; more
/// only make smaller batches that contend for the same cores (measured with
/// `scripts/bench.sh load`: two carried more stays and visits a second than
/// four, and four more than eight).
const WRITERS: usize = 2;
/// The most count-ins one transaction takes.
const MAX_BATCH: usize = 256;
/// Count-ins waiting for a writer before new ones wait to be queued.
const QUEUE: usize = 4096;

/// One party's count-in, checked and ready to store.
pub struct Visit {
    pub place_id: i64,
    pub place_name: String,
    pub party_size: i32,
    pub country: String,
    pub province: Option<i32>,
    /// The phone's id, hashed.
    pub device: Option<Vec<u8>>,
    /// The request's idempotency key, with its scope and the request's hash.
    pub key: Option<(String, String, Vec<u8>)>,
}

/// What became of a count-in once its batch committed.
pub enum Written {
    /// Stored and answered: 201 counted, or 200 a repeat of the same phone's
    /// earlier count-in.
    Answer(StatusCode, Value),
    /// Its idempotency key was used before: the request is answered on its
    /// own (the first answer again, or a conflict).
    Alone,
}

/// A kind of check-in written in batches.
pub trait Batch: Send + Sync + 'static {
    type Job: Send + 'static;
    /// What a batch holds, for the logs.
    const WHAT: &'static str;
    /// Write the jobs in one transaction and refresh what follows its
    /// commit. Each job gets its outcome; an error stores none of them.
    fn write(
        &self,
        jobs: &[Self::Job],
    ) -> impl Future<Output = Result<Vec<Result<Written>>>> + Send;
}

type Job<B> = (<B as Batch>::Job, oneshot::Sender<Result<Written>>);
type Jobs<B> = Arc<Mutex<mpsc::Receiver<Job<B>>>>;

/// The queue in front of a kind's writers.
pub struct Queue<B: Batch> {
    queue: mpsc::Sender<Job<B>>,
}

impl<B: Batch> Queue<B> {
    /// Start the writers; they stop once the queue is dropped.
    pub fn start(batch: B) -> Queue<B> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let jobs: Jobs<B> = Arc::new(Mutex::new(jobs));
        let batch = Arc::new(batch);
        for _ in 0..WRITERS {
            tokio::spawn(run(batch.clone(), jobs.clone()));
        }
        Queue { queue }
    }

    /// Store a check-in with the next batch; returns after its commit.
    pub async fn write(&self, job: B::Job) -> Result<Written> {
        let (reply, answer) = oneshot::channel();
        let stopped = Error::Unavailable("the check-in writer");
        if self.queue.send((job, reply)).await.is_err() {
            return Err(stopped);
        }
        answer.await.unwrap_or(Err(stopped))
    }
}

async fn run<B: Batch>(batch: Arc<B>, jobs: Jobs<B>) {
    loop {
        let mut taken = Vec::new();
        {
            let mut jobs = jobs.lock().await;
            match jobs.recv().await {
                Some(job) => taken.push(job),
                None => return,
            }
            while taken.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => taken.push(job),
                    Err(_) => break,
                }
            }
        }
        let (jobs_now, replies): (Vec<B::Job>, Vec<_>) = taken.into_iter().unzip();
        tracing::debug!(size = jobs_now.len(), what = B::WHAT, "writing a batch");
        crate::metrics::batch_written(B::WHAT, jobs_now.len());
        match batch.write(&jobs_now).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, size = jobs_now.len(), what = B::WHAT, "a batch was not stored");
                let unavailable = e.status() == StatusCode::SERVICE_UNAVAILABLE;
                for reply in replies {
                    let _ = reply.send(Err(if unavailable {
                        Error::Unavailable("the database")
                    } else {
                        Error::Internal(anyhow::anyhow!("a batch of {} failed: {e}", B::WHAT))
                    }));
                }
            }
        }
    }
}

/// Site visits, written in batches.
pub struct Visits {
    pub db: PgPool,
    pub cache: Cache,
    pub tz: Tz,
    pub repeat_minutes: i64,
}

impl Batch for Visits {
    type Job = Visit;
    const WHAT: &'static str = "visits";

    async fn write(&self, visits: &[Visit]) -> Result<Vec<Result<Written>>> {
        let written = write_visits(&self.db, self.tz, self.repeat_minutes, visits).await?;
        // The live figures follow the commit, once for the batch.
        let places = visits
            .iter()
            .zip(&written)
            .filter(|(_, w)| matches!(w, Written::Answer(StatusCode::CREATED, _)))
            .map(|(v, _)| v.place_id);
        invalidate(&self.cache, self.tz, places).await;
        Ok(written.into_iter().map(Ok).collect())
    }
}

/// Refresh the live figures of the places a batch added to.
pub async fn invalidate(cache: &Cache, tz: Tz, places: impl Iterator<Item = i64>) {
    let mut places: Vec<i64> = places.collect();
    places.sort_unstable();
    places.dedup();
    crate::stats::live::invalidate_places(cache, tz, &places).await;
}

/// The answer to a count-in, the same whether it was written in a batch or
/// alone, and stored with its idempotency key.
pub fn answer(
    counted: bool,
    visit_id: Uuid,
    place_id: i64,
    place_name: &str,
    party_size: i32,
    visited_at: DateTime<Utc>,
) -> Value {
    json!({
        "kind": "visit",
        "counted": counted,
        "visit_id": visit_id,
        "place": {"id": place_id, "name": place_name},
        "party_size": party_size,
        "visited_at": visited_at,
    })
}

async fn write_visits(
    db: &PgPool,
    tz: Tz,
    repeat_minutes: i64,
    visits: &[Visit],
) -> Result<Vec<Written>> {
    let mut tx = db.begin_with(crate::db::BATCH_BEGIN).await?;

    // Idempotency keys: a request whose key was used before is not this
    // batch's to answer.
    let keyed: Vec<(usize, Claim)> = visits
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            v.key
                .as_ref()
                .map(|(scope, key, hash)| (i, Claim { scope, key, hash }))
        })
        .collect();
    let mut alone = vec![false; visits.len()];
    if !keyed.is_empty() {
        let claims: Vec<Claim> = keyed.iter().map(|(_, c)| *c).collect();
        let owned = idempotency::claim_many(&mut tx, &claims).await?;
        for ((i, _), owned) in keyed.iter().zip(owned) {
            alone[*i] = !owned;
        }
    }

    // Phones: lock each (site, phone) as a count-in written alone does, in a
    // fixed order, then find their count-ins within the repeat window.
    let mut earlier: HashMap<(i64, &[u8]), EarlierVisit> = HashMap::new();
    let phones: Vec<(i64, &[u8])> = visits
        .iter()
        .zip(&alone)
        .filter(|(_, alone)| !**alone)
        .filter_map(|(v, _)| v.device.as_deref().map(|d| (v.place_id, d)))
        .collect();
    if !phones.is_empty() {
        let places: Vec<i64> = phones.iter().map(|p| p.0).collect();
        let devices: Vec<&[u8]> = phones.iter().map(|p| p.1).collect();
        sqlx::query!(
            "SELECT count(pg_advisory_xact_lock(h)) FROM (
                 SELECT DISTINCT hashtextextended(encode(d, 'hex'), p) AS h
                 FROM unnest($1::bigint[], $2::bytea[]) AS t(p, d) ORDER BY h
             ) AS locks",
            &places,
            &devices as &[&[u8]]
        )
        .fetch_one(&mut *tx)
        .await?;
        let rows = sqlx::query!(
            r#"SELECT DISTINCT ON (v.place_id, v.device_hash)
                      v.place_id, v.device_hash AS "device!", v.id, v.visited_at, v.party_size
               FROM visits v
               JOIN unnest($1::bigint[], $2::bytea[]) AS t(p, d) ON v.place_id = t.p AND v.device_hash = t.d
               WHERE v.visited_at > now() - make_interval(mins => $3::int)
               ORDER BY v.place_id, v.device_hash, v.visited_at DESC"#,
            &places,
            &devices as &[&[u8]],
            repeat_minutes as i32
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in rows {
            if let Some(phone) = phones
                .iter()
                .find(|p| p.0 == row.place_id && p.1 == row.device.as_slice())
            {
                earlier.insert(
                    *phone,
                    EarlierVisit {
                        id: row.id,
                        visited_at: row.visited_at,
                        party_size: row.party_size,
                    },
                );
            }
        }
    }

    // Each count-in in order: a phone already counted here (before, or
    // earlier in this batch) is answered with that count-in.
    let now = Utc::now();
    let mut written = Vec::with_capacity(visits.len());
    let mut rows: Vec<(Uuid, &Visit)> = Vec::new();
    for (visit, alone) in visits.iter().zip(&alone) {
        if *alone {
            written.push(Written::Alone);
            continue;
        }
        let phone = visit.device.as_deref().map(|d| (visit.place_id, d));
        let (status, body) = match phone.and_then(|p| earlier.get(&p)) {
            Some(e) => (
                StatusCode::OK,
                answer(
                    false,
                    e.id,
                    visit.place_id,
                    &visit.place_name,
                    e.party_size,
                    e.visited_at,
                ),
            ),
            None => {
                let id = Uuid::now_v7();
                rows.push((id, visit));
                if let Some(phone) = phone {
                    earlier.insert(
                        phone,
                        EarlierVisit {
                            id,
                            visited_at: now,
                            party_size: visit.party_size,
                        },
                    );
                }
                (
                    StatusCode::CREATED,
                    answer(
                        true,
                        id,
                        visit.place_id,
                        &visit.place_name,
                        visit.party_size,
                        now,
                    ),
                )
            }
        };
        written.push(Written::Answer(status, body));
    }

    if !rows.is_empty() {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
        let places: Vec<i64> = rows.iter().map(|r| r.1.place_id).collect();
        let parties: Vec<i32> = rows.iter().map(|r| r.1.party_size).collect();
        let countries: Vec<&str> = rows.iter().map(|r| r.1.country.as_str()).collect();
        let provinces: Vec<Option<i32>> = rows.iter().map(|r| r.1.province).collect();
        let devices: Vec<Option<&[u8]>> = rows.iter().map(|r| r.1.device.as_deref()).collect();
        sqlx::query!(
            "INSERT INTO visits (id, place_id, visited_at, visit_date, visit_hour, party_size,
                                 origin_country, origin_province_id, device_hash)
             SELECT id, place_id, $1, $2, $3, party_size, country, province, device
             FROM unnest($4::uuid[], $5::bigint[], $6::int[], $7::text[], $8::int[], $9::bytea[])
                  AS v(id, place_id, party_size, country, province, device)",
            now,
            localtime::date(tz, now),
            localtime::hour(tz, now) as i16,
            &ids,
            &places,
            &parties,
            &countries as &[&str],
            &provinces as &[Option<i32>],
            &devices as &[Option<&[u8]>]
        )
        .execute(&mut *tx)
        .await?;
    }

    let answers: Vec<(Claim, StatusCode, &Value)> = keyed
        .iter()
        .filter_map(|(i, claim)| match &written[*i] {
            Written::Answer(status, body) => Some((*claim, *status, body)),
            Written::Alone => None,
        })
        .collect();
    idempotency::finish_many(&mut tx, &answers).await?;
    tx.commit().await?;
    Ok(written)
}
