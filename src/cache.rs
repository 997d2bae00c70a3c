//! Redis as a cache and coordinator. Every call is bounded in time and fails
//! soft: when Redis is down the service keeps recording check-ins in
//! PostgreSQL, reads fall through to the database, and `/readyz` reports it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::Mutex;

/// How long one Redis command may take before we carry on without it.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(250);
/// After a failed connection attempt, wait this long before trying again,
/// so an outage does not add a connect timeout to every request.
const RECONNECT_BACKOFF: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    prefix: String,
    conn: Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    manager: Option<ConnectionManager>,
    last_failure: Option<Instant>,
}

impl Cache {
    pub fn new(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        Ok(Cache {
            inner: Arc::new(Inner {
                client,
                prefix: prefix.to_owned(),
                conn: Mutex::new(Slot::default()),
            }),
        })
    }

    /// The full key for `name`, under this deployment's prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}{}", self.inner.prefix, name)
    }

    async fn connection(&self) -> Option<ConnectionManager> {
        let mut slot = self.inner.conn.lock().await;
        if let Some(m) = &slot.manager {
            return Some(m.clone());
        }
        if slot
            .last_failure
            .is_some_and(|t| t.elapsed() < RECONNECT_BACKOFF)
        {
            return None;
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(COMMAND_TIMEOUT)
            .set_response_timeout(COMMAND_TIMEOUT)
            .set_number_of_retries(1);
        match tokio::time::timeout(
            COMMAND_TIMEOUT * 2,
            ConnectionManager::new_with_config(self.inner.client.clone(), config),
        )
        .await
        {
            Ok(Ok(m)) => {
                slot.manager = Some(m.clone());
                slot.last_failure = None;
                Some(m)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "redis unavailable");
                slot.last_failure = Some(Instant::now());
                None
            }
            Err(_) => {
                tracing::warn!("redis connection timed out");
                slot.last_failure = Some(Instant::now());
                None
            }
        }
    }

    /// Run one command; `None` when Redis is unreachable or too slow.
    async fn run<T, F, Fut>(&self, f: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let Some(conn) = self.connection().await else {
            crate::metrics::redis_fallback("unreachable");
            return None;
        };
        match tokio::time::timeout(COMMAND_TIMEOUT, f(conn)).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "redis command failed");
                crate::metrics::redis_fallback("error");
                None
            }
            Err(_) => {
                tracing::warn!("redis command timed out");
                crate::metrics::redis_fallback("timeout");
                None
            }
        }
    }

    pub async fn ping(&self) -> bool {
        self.run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .is_some()
    }

    pub async fn get_json<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        let key = self.key(name);
        let raw: Option<String> = self
            .run(|mut c| async move { c.get(key).await })
            .await
            .flatten();
        raw.and_then(|s| serde_json::from_str(&s).ok())
    }

    pub async fn set_json<T: Serialize>(&self, name: &str, value: &T, ttl: Duration) {
        let Ok(raw) = serde_json::to_string(value) else {
            return;
        };
        let key = self.key(name);
        let secs = ttl.as_secs().max(1);
        self.run(|mut c| async move { c.set_ex::<_, _, ()>(key, raw, secs).await })
            .await;
    }

    /// A value as bytes.
    pub async fn get_bytes(&self, name: &str) -> Option<Vec<u8>> {
        let key = self.key(name);
        self.run(|mut c| async move { c.get(key).await })
            .await
            .flatten()
    }

    /// A value and one field of a hash, in one round trip.
    pub async fn get_with_field(
        &self,
        name: &str,
        hash: &str,
        field: &str,
    ) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let (key, hash) = (self.key(name), self.key(hash));
        let field = field.to_owned();
        self.run(|mut c| async move {
            redis::pipe()
                .get(key)
                .hget(hash, field)
                .query_async::<(Option<Vec<u8>>, Option<Vec<u8>>)>(&mut c)
                .await
        })
        .await
        .unwrap_or_default()
    }

    /// One field of a hash of byte strings (rendered images by size, say).
    pub async fn get_field(&self, name: &str, field: &str) -> Option<Vec<u8>> {
        let key = self.key(name);
        let field = field.to_owned();
        self.run(|mut c| async move { c.hget(key, field).await })
            .await
            .flatten()
    }

    /// Set one field of a hash; the whole hash expires `ttl` after the last write.
    pub async fn set_field(&self, name: &str, field: &str, value: &[u8], ttl: Duration) {
        let key = self.key(name);
        let (field, value) = (field.to_owned(), value.to_vec());
        let secs = ttl.as_secs().max(1) as i64;
        self.run(|mut c| async move {
            redis::pipe()
                .atomic()
                .hset(&key, field, value)
                .ignore()
                .expire(&key, secs)
                .ignore()
                .query_async::<()>(&mut c)
                .await
        })
        .await;
    }

    /// Tell every instance listening on `channel`.
    pub async fn publish(&self, channel: &str, message: &str) {
        let key = self.key(channel);
        let message = message.to_owned();
        self.run(|mut c| async move { c.publish::<_, _, ()>(key, message).await })
            .await;
    }

    /// Listen on `channel`; `None` when Redis cannot be reached.
    pub async fn subscribe(&self, channel: &str) -> Option<redis::aio::PubSubStream> {
        let key = self.key(channel);
        let connect = async {
            let mut pubsub = self.inner.client.get_async_pubsub().await?;
            pubsub.subscribe(key).await?;
            redis::RedisResult::Ok(pubsub)
        };
        match tokio::time::timeout(COMMAND_TIMEOUT * 4, connect).await {
            Ok(Ok(pubsub)) => Some(pubsub.into_on_message()),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "redis subscription failed");
                None
            }
            Err(_) => {
                tracing::warn!("redis subscription timed out");
                None
            }
        }
    }

    pub async fn delete(&self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        let keys: Vec<String> = names.iter().map(|n| self.key(n)).collect();
        self.run(|mut c| async move { c.del::<_, ()>(keys).await })
            .await;
    }

    /// The count of a window so far and its seconds left, without counting.
    pub async fn peek(&self, name: &str) -> Option<(u64, u64)> {
        let key = self.key(name);
        self.run(|mut c| async move {
            let (count, ttl): (Option<u64>, i64) = redis::pipe()
                .cmd("GET")
                .arg(&key)
                .cmd("TTL")
                .arg(&key)
                .query_async(&mut c)
                .await?;
            Ok((count.unwrap_or(0), ttl.max(1) as u64))
        })
        .await
    }

    /// Count one hit in a fixed window; returns the count so far, or `None`
    /// when Redis cannot say.
    pub async fn hit(&self, name: &str, window: Duration) -> Option<(u64, u64)> {
        let key = self.key(name);
        let secs = window.as_secs().max(1) as i64;
        self.run(|mut c| async move {
            let (count, ttl): (u64, i64) = redis::pipe()
                .atomic()
                .cmd("INCR")
                .arg(&key)
                .cmd("EXPIRE")
                .arg(&key)
                .arg(secs)
                .arg("NX")
                .ignore()
                .cmd("TTL")
                .arg(&key)
                .query_async(&mut c)
                .await?;
            Ok((count, ttl.max(1) as u64))
        })
        .await
    }
}
