//! Group commit for site visits. At a holiday peak a lighthouse counts in a
//! party every few milliseconds; written one by one, each would cost a
//! transaction of several round trips and a commit of its own. Instead the
//! count-ins that arrive while the writers are busy wait in a queue, and the
//! next free writer takes all of them and writes them in one statement, and
//! so one transaction and one round trip: the `write_visits` function takes
//! their idempotency keys (each stored with its answer), checks their phones
//! for a repeat count-in and stores the visits. Each request is answered only
//! after that commit, and after the live figures of the places it touched
//! are refreshed once for the batch; that refresh and the answers go on in a
//! task of their own, so the writer takes the next batch as soon as it has
//! committed. A writer keeps its pool connection from one batch to the next
//! while count-ins keep coming, and gives it back when none has come for a
//! second or a batch fails (the pool tests a connection each time it is
//! taken and given back: two round trips a batch saved at a peak); after a
//! pause of more than a tenth of a second it pings the connection first, as
//! the pool would have tested it. When the database refuses the batch's
//! statement, its transaction rolls back and nothing of the batch is
//! stored: its count-ins are written again one by one, each in a
//! transaction of its own, so that one the database refuses fails alone and
//! the visitors who came with it are checked in. When the writing panics,
//! or the database goes out of reach, the batch may have committed, and
//! writing it again could store it twice: every request of the batch gets
//! that error at once (a retry with its Idempotency-Key gets the first
//! answer if it was stored). The writer goes on.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use chrono::{DateTime, SubsecRound, Utc};
use chrono_tz::Tz;
use futures_util::FutureExt;
use serde_json::{json, Value};
use sqlx::pool::PoolConnection;
use sqlx::{Connection, PgConnection, PgPool, Postgres};
use tokio::sync::{mpsc, oneshot, Mutex};
use uuid::Uuid;

use crate::cache::Cache;
use crate::crypto::DataCipher;
use crate::error::{Error, Result};
use crate::localtime;

/// Writers working at once for each kind, each with one connection while it
/// writes. Since a writer hands its answers to a task of its own and keeps
/// its connection, one keeps PostgreSQL busy: while it writes a batch, the
/// next one gathers. More only make smaller batches that contend for the
/// same cores (measured with `scripts/bench.sh load`, runs taken in turn:
/// one writer carried more visits and stays a second than two, as two had
/// more than four; and again with writers keeping their connections while
/// they wait: 10,600 to 11,100 stays a second with one, 8,300 to 8,600 with
/// two).
const WRITERS: usize = 1;
/// The most count-ins one transaction takes.
const MAX_BATCH: usize = 256;
/// Count-ins waiting for a writer before new ones wait to be queued.
const QUEUE: usize = 4096;
/// How long a writer with nothing to write keeps its connection. At a peak
/// the queue is often empty for a moment between two batches; giving the
/// connection back then would cost the pool's test of it on the way out and
/// in again, and another backend's cold caches.
const IDLE: Duration = Duration::from_secs(1);
/// A held connection unused for longer than this is pinged before a batch
/// goes on it, as the pool would test it: after a PostgreSQL restart, the
/// batch goes on a fresh connection instead of failing. At a peak batches
/// follow each other far closer than this, and none is pinged.
const PING_AFTER: Duration = Duration::from_millis(100);

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
    /// Answered: 201 counted and stored, or 200 a repeat of the same phone's
    /// earlier count-in (nothing stored).
    Answer(StatusCode, Value),
    /// Its idempotency key was used before (or by an earlier request of the
    /// batch): the request is answered on its own (the first answer again,
    /// or a conflict).
    Alone,
}

/// A batch once committed: each job's outcome, and the places whose live
/// figures it changed.
pub struct Committed {
    pub outcomes: Vec<Result<Written>>,
    pub places: Vec<i64>,
}

/// A kind of check-in written in batches.
pub trait Batch: Send + Sync + 'static {
    type Job: Send + Sync + 'static;
    /// What a batch holds, for the logs.
    const WHAT: &'static str;
    /// Write the jobs on `conn` in one transaction. Each job gets its
    /// outcome; an error stores none of them. An error from the database
    /// (`sqlx::Error::Database`) must mean that nothing was committed (no
    /// statement after a commit, no second transaction): the writer then
    /// writes the jobs again one by one.
    fn write(
        &self,
        conn: &mut PgConnection,
        jobs: &[Self::Job],
    ) -> impl Future<Output = Result<Committed>> + Send;
}

/// What the writers share whatever they write: the pool they take their
/// connections from, and what follows a batch's commit (the live figures it
/// changed are refreshed, then its requests are answered).
#[derive(Clone)]
pub struct Writers {
    pub db: PgPool,
    pub cache: Cache,
    pub tz: Tz,
}

type Job<B> = (<B as Batch>::Job, oneshot::Sender<Result<Written>>);
type Jobs<B> = Arc<Mutex<mpsc::Receiver<Job<B>>>>;

/// The queue in front of a kind's writers.
pub struct Queue<B: Batch> {
    queue: mpsc::Sender<Job<B>>,
}

impl<B: Batch> Queue<B> {
    /// Start the writers; they stop once the queue is dropped.
    pub fn start(batch: B, writers: Writers) -> Queue<B> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let jobs: Jobs<B> = Arc::new(Mutex::new(jobs));
        let batch = Arc::new(batch);
        for _ in 0..WRITERS {
            tokio::spawn(run(batch.clone(), jobs.clone(), writers.clone()));
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

async fn run<B: Batch>(batch: Arc<B>, jobs: Jobs<B>, writers: Writers) {
    let mut held: Option<Held> = None;
    loop {
        let taken = match tokio::time::timeout(IDLE, gather::<B>(&jobs)).await {
            Ok(taken) => taken,
            Err(_) => {
                // Nothing to write for a while: the connection goes back to
                // the pool until count-ins come again.
                held = None;
                gather::<B>(&jobs).await
            }
        };
        let Some(taken) = taken else { return };
        let (jobs_now, replies): (Vec<B::Job>, Vec<_>) = taken.into_iter().unzip();
        tracing::debug!(size = jobs_now.len(), what = B::WHAT, "writing a batch");
        let started = Instant::now();
        let written = write_on(&*batch, &writers.db, &mut held, &jobs_now).await;
        crate::metrics::batch_written(B::WHAT, jobs_now.len(), started.elapsed());
        match written {
            Ok(committed) => answer_all(&writers, replies, committed),
            Err(e) if jobs_now.len() > 1 && refused(&e) => {
                tracing::warn!(error = %e, size = jobs_now.len(), what = B::WHAT,
                    "a batch was not stored; writing its check-ins one by one");
                let mut out_of_reach = false;
                for (job, reply) in jobs_now.iter().zip(replies) {
                    // The database gone meanwhile: the rest are not tried,
                    // each would wait for a connection in vain.
                    if out_of_reach {
                        let _ = reply.send(Err(Error::Unavailable("the database")));
                        continue;
                    }
                    let one = std::slice::from_ref(job);
                    let started = Instant::now();
                    let written = write_on(&*batch, &writers.db, &mut held, one).await;
                    crate::metrics::batch_written(B::WHAT, 1, started.elapsed());
                    match written {
                        Ok(committed) => answer_all(&writers, vec![reply], committed),
                        Err(e) => {
                            tracing::warn!(error = %e, what = B::WHAT, "a check-in was not stored");
                            out_of_reach = e.status() == StatusCode::SERVICE_UNAVAILABLE;
                            let _ = reply.send(Err(failed::<B>(&e)));
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, size = jobs_now.len(), what = B::WHAT,
                    "a batch failed; it may have been stored");
                for reply in replies {
                    let _ = reply.send(Err(failed::<B>(&e)));
                }
            }
        }
    }
}

/// Answer a committed batch's requests, once the live figures of the places
/// it changed are refreshed (in a task of its own: the writer goes on).
fn answer_all(
    writers: &Writers,
    replies: Vec<oneshot::Sender<Result<Written>>>,
    Committed { outcomes, places }: Committed,
) {
    let writers = writers.clone();
    tokio::spawn(async move {
        invalidate(&writers.cache, writers.tz, places).await;
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            let _ = reply.send(outcome);
        }
    });
}

/// Whether the database refused a batch's statement, which then stored
/// nothing. After any other error (a panic, perhaps once the statement had
/// committed, or a connection lost before its answer) it may have.
fn refused(e: &Error) -> bool {
    matches!(e, Error::Database(sqlx::Error::Database(_)))
        && e.status() != StatusCode::SERVICE_UNAVAILABLE
}

/// What a request gets when its batch failed.
fn failed<B: Batch>(e: &Error) -> Error {
    if e.status() == StatusCode::SERVICE_UNAVAILABLE {
        Error::Unavailable("the database")
    } else {
        Error::Internal(anyhow::anyhow!("a batch of {} failed: {e}", B::WHAT))
    }
}

/// The next batch: every job waiting, up to `MAX_BATCH`, once there is one;
/// `None` once the queue is dropped. Cancelling it loses no job: it waits
/// only for the lock and for the first job, and takes the rest without
/// waiting.
async fn gather<B: Batch>(jobs: &Jobs<B>) -> Option<Vec<Job<B>>> {
    let mut jobs = jobs.lock().await;
    let mut taken = vec![jobs.recv().await?];
    while taken.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(job) => taken.push(job),
            Err(_) => break,
        }
    }
    Some(taken)
}

/// A writer's connection between batches, with the moment its last batch
/// committed.
type Held = (PoolConnection<Postgres>, Instant);

/// Write `jobs` on the held connection (pinged first if it has waited past
/// `PING_AFTER`), or on one from the pool. Only a connection whose batch
/// committed is kept; any other goes back to the pool, which rolls back and
/// tests it. A panic is the batch's error.
async fn write_on<B: Batch>(
    batch: &B,
    db: &PgPool,
    held: &mut Option<Held>,
    jobs: &[B::Job],
) -> Result<Committed> {
    let alive = match held.take() {
        Some((conn, since)) if since.elapsed() < PING_AFTER => Some(conn),
        Some((mut conn, _)) => match conn.ping().await {
            Ok(()) => Some(conn),
            Err(_) => {
                conn.close_on_drop();
                None
            }
        },
        None => None,
    };
    let mut conn = match alive {
        Some(conn) => conn,
        None => db.acquire().await?,
    };
    let written = AssertUnwindSafe(batch.write(&mut conn, jobs))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            Err(Error::Internal(anyhow::anyhow!(
                "writing a batch of {} panicked",
                B::WHAT
            )))
        });
    if written.is_ok() {
        *held = Some((conn, Instant::now()));
    }
    written
}

/// Site visits, written in batches.
pub struct Visits {
    pub cipher: DataCipher,
    pub tz: Tz,
    pub repeat_minutes: i64,
}

impl Batch for Visits {
    type Job = Visit;
    const WHAT: &'static str = "visits";

    async fn write(&self, conn: &mut PgConnection, visits: &[Visit]) -> Result<Committed> {
        let written =
            write_visits(conn, &self.cipher, self.tz, self.repeat_minutes, visits).await?;
        let places = visits
            .iter()
            .zip(&written)
            .filter(|(_, w)| matches!(w, Written::Answer(StatusCode::CREATED, _)))
            .map(|(v, _)| v.place_id)
            .collect();
        Ok(Committed {
            outcomes: written.into_iter().map(Ok).collect(),
            places,
        })
    }
}

/// Refresh the live figures of the places a batch added to.
async fn invalidate(cache: &Cache, tz: Tz, mut places: Vec<i64>) {
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

/// Store the visits with `write_visits` (see its migration) in one
/// statement, and so one transaction, keys or not: a count-in whose key was
/// used before (or is used by an earlier one of the batch) is answered on
/// its own, and one from a phone counted at the site a moment before (or
/// earlier in the batch) with that count-in. Each key is sent with the
/// answer its request gets when counted, and stored with it.
async fn write_visits(
    conn: &mut PgConnection,
    cipher: &DataCipher,
    tz: Tz,
    repeat_minutes: i64,
    visits: &[Visit],
) -> Result<Vec<Written>> {
    // What PostgreSQL keeps (microseconds), so that the answer is the one a
    // later read of the visit gives.
    let now = Utc::now().trunc_subsecs(6);
    let ids: Vec<Uuid> = visits.iter().map(|_| Uuid::now_v7()).collect();
    let places: Vec<i64> = visits.iter().map(|v| v.place_id).collect();
    let parties: Vec<i32> = visits.iter().map(|v| v.party_size).collect();
    let countries: Vec<&str> = visits.iter().map(|v| v.country.as_str()).collect();
    let provinces: Vec<Option<i32>> = visits.iter().map(|v| v.province).collect();
    let devices: Vec<Option<&[u8]>> = visits.iter().map(|v| v.device.as_deref()).collect();
    let keys = Keys::of(
        cipher,
        visits.iter().zip(&ids).map(|(v, &id)| {
            let counted = move || answer(true, id, v.place_id, &v.place_name, v.party_size, now);
            (v.key.as_ref(), counted)
        }),
    );
    let rows = sqlx::query!(
        r#"SELECT n AS "n!", alone AS "alone!", earlier_id, earlier_at, earlier_party
           FROM write_visits($1::uuid[], $2::bigint[], $3::int[], $4::text[], $5::int[], $6::bytea[],
                             $7::text[], $8::text[], $9::bytea[], $10::jsonb[], $11, $12, $13, $14)"#,
        &ids,
        &places,
        &parties,
        &countries as &[&str],
        &provinces as &[Option<i32>],
        &devices as &[Option<&[u8]>],
        &keys.scopes as &[Option<&str>],
        &keys.keys as &[Option<&str>],
        &keys.hashes as &[Option<&[u8]>],
        &keys.answers as &[Option<Value>],
        now,
        localtime::date(tz, now),
        localtime::hour(tz, now) as i16,
        repeat_minutes as i32
    )
    .fetch_all(&mut *conn)
    .await?;

    let mut written: Vec<Option<Written>> = visits.iter().map(|_| None).collect();
    for row in rows {
        let i = row.n as usize - 1;
        let visit = &visits[i];
        written[i] = Some(
            match (row.alone, row.earlier_id, row.earlier_at, row.earlier_party) {
                (false, Some(id), Some(at), Some(party)) => Written::Answer(
                    StatusCode::OK,
                    answer(false, id, visit.place_id, &visit.place_name, party, at),
                ),
                // Its key was used before: answered on its own.
                _ => Written::Alone,
            },
        );
    }
    Ok(written
        .into_iter()
        .zip(visits.iter().zip(ids))
        .map(|(written, (visit, id))| {
            written.unwrap_or_else(|| {
                let body = answer(
                    true,
                    id,
                    visit.place_id,
                    &visit.place_name,
                    visit.party_size,
                    now,
                );
                Written::Answer(StatusCode::CREATED, body)
            })
        })
        .collect())
}

/// The idempotency keys of a batch's requests, for the `write_*` functions:
/// arrays aligned with the requests sent, NULL where a request has no key,
/// each key with the answer its request gets once stored, sealed as
/// `idempotency` keeps it.
pub struct Keys<'a> {
    pub scopes: Vec<Option<&'a str>>,
    pub keys: Vec<Option<&'a str>>,
    pub hashes: Vec<Option<&'a [u8]>>,
    pub answers: Vec<Option<Value>>,
}

impl<'a> Keys<'a> {
    /// Each request's key (scope, key, request hash) with its answer, built
    /// only for a request that has a key.
    pub fn of<F: FnOnce() -> Value>(
        cipher: &DataCipher,
        requests: impl Iterator<Item = (Option<&'a (String, String, Vec<u8>)>, F)>,
    ) -> Keys<'a> {
        let mut keys = Keys {
            scopes: Vec::new(),
            keys: Vec::new(),
            hashes: Vec::new(),
            answers: Vec::new(),
        };
        for (key, answer) in requests {
            keys.scopes.push(key.map(|(scope, _, _)| scope.as_str()));
            keys.keys.push(key.map(|(_, key, _)| key.as_str()));
            keys.hashes.push(key.map(|(_, _, hash)| hash.as_slice()));
            keys.answers
                .push(key.map(|_| crate::idempotency::seal(cipher, &answer())));
        }
        keys
    }
}
