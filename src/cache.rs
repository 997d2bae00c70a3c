//! Redis as a cache and coordinator. Every call is bounded in time and fails
//! soft: when Redis is down the service keeps recording check-ins in
//! PostgreSQL, reads fall through to the database, and `/readyz` reports it.
//!
//! One server (`redis://host:port`) or a Redis Cluster (its nodes'
//! addresses, comma-separated; one address of a cluster is found to be one
//! by `INFO cluster` on connecting). Every command and every MULTI names one
//! key, so it runs on that key's slot; what touches several keys (dropping a
//! place's cached entries, a value and a hash read together) is sent key by
//! key to a cluster. Publish and subscribe go through one node, the first
//! that answers: a cluster carries messages to every node.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
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
    /// The server, or the cluster's nodes (subscriptions go to the first
    /// that answers).
    nodes: Vec<redis::Client>,
    /// The cluster, when several nodes are given or the one given is a
    /// cluster's.
    cluster: ClusterClient,
    /// Whether this is a cluster: known from the configuration, or found on
    /// the first connection.
    is_cluster: AtomicBool,
    prefix: String,
    conn: Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    conn: Option<Conn>,
    last_failure: Option<Instant>,
}

/// A connection to the server or to the cluster; both reconnect by
/// themselves once made.
#[derive(Clone)]
enum Conn {
    One(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Conn::One(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Conn::One(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::One(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

impl Cache {
    /// `url`: one server, or a cluster's nodes separated by commas.
    pub fn new(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let mut urls: Vec<&str> = url
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if urls.is_empty() {
            urls.push(url);
        }
        let nodes = urls
            .iter()
            .map(|u| redis::Client::open(*u))
            .collect::<redis::RedisResult<Vec<_>>>()?;
        let cluster = ClusterClient::builder(urls.clone())
            .connection_timeout(COMMAND_TIMEOUT)
            .response_timeout(COMMAND_TIMEOUT)
            .retries(1)
            .build()?;
        Ok(Cache {
            inner: Arc::new(Inner {
                nodes,
                cluster,
                is_cluster: AtomicBool::new(urls.len() > 1),
                prefix: prefix.to_owned(),
                conn: Mutex::new(Slot::default()),
            }),
        })
    }

    /// Whether this is a Redis Cluster (as far as known: a single address
    /// is asked on the first connection).
    pub fn is_cluster(&self) -> bool {
        self.inner.is_cluster.load(Ordering::Relaxed)
    }

    /// Whether this is a Redis Cluster, connecting first if need be.
    pub async fn cluster_mode(&self) -> bool {
        self.connection().await;
        self.is_cluster()
    }

    /// The full key for `name`, under this deployment's prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}{}", self.inner.prefix, name)
    }

    async fn connection(&self) -> Option<Conn> {
        let mut slot = self.inner.conn.lock().await;
        if let Some(c) = &slot.conn {
            return Some(c.clone());
        }
        if slot
            .last_failure
            .is_some_and(|t| t.elapsed() < RECONNECT_BACKOFF)
        {
            return None;
        }
        let connect = async {
            if !self.is_cluster() {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(COMMAND_TIMEOUT)
                    .set_response_timeout(COMMAND_TIMEOUT)
                    .set_number_of_retries(1);
                let mut one =
                    ConnectionManager::new_with_config(self.inner.nodes[0].clone(), config).await?;
                let info: String = redis::cmd("INFO")
                    .arg("cluster")
                    .query_async(&mut one)
                    .await?;
                if !info.contains("cluster_enabled:1") {
                    return Ok(Conn::One(one));
                }
                self.inner.is_cluster.store(true, Ordering::Relaxed);
            }
            self.inner
                .cluster
                .get_async_connection()
                .await
                .map(Conn::Cluster)
        };
        match tokio::time::timeout(COMMAND_TIMEOUT * 2, connect).await {
            Ok(Ok(c)) => {
                slot.conn = Some(c.clone());
                slot.last_failure = None;
                Some(c)
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
        F: FnOnce(Conn) -> Fut,
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
        if self.cluster_mode().await {
            // Two keys, two slots: two commands at once.
            return tokio::join!(self.get_bytes(name), self.get_field(hash, field));
        }
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

    /// Listen on `channel` (through the first node that answers); `None`
    /// when Redis cannot be reached.
    pub async fn subscribe(&self, channel: &str) -> Option<redis::aio::PubSubStream> {
        let key = self.key(channel);
        for node in &self.inner.nodes {
            let connect = async {
                let mut pubsub = node.get_async_pubsub().await?;
                pubsub.subscribe(&key).await?;
                redis::RedisResult::Ok(pubsub)
            };
            match tokio::time::timeout(COMMAND_TIMEOUT * 4, connect).await {
                Ok(Ok(pubsub)) => return Some(pubsub.into_on_message()),
                Ok(Err(e)) => tracing::warn!(error = %e, "redis subscription failed"),
                Err(_) => tracing::warn!("redis subscription timed out"),
            }
        }
        None
    }

    pub async fn delete(&self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        let keys: Vec<String> = names.iter().map(|n| self.key(n)).collect();
        let cluster = self.cluster_mode().await;
        self.run(|mut c| async move {
            if cluster {
                // Each key on its own slot: one DEL each, sent together.
                let dels = keys.into_iter().map(|key| {
                    let mut c = c.clone();
                    async move { c.del::<_, ()>(key).await }
                });
                futures_util::future::try_join_all(dels).await.map(|_| ())
            } else {
                c.del::<_, ()>(keys).await
            }
        })
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
