//! The codes this process resolved lately, kept in its own memory so that a
//! scan at a holiday peak costs no round trip at all. Every instance listens
//! on a Redis channel; a place changed or a code replaced on any instance is
//! announced there and every instance forgets what it kept. While that
//! channel is not heard (Redis down, reconnecting) nothing is kept here, so
//! no instance serves a replaced code from memory; lookups then go to Redis
//! and PostgreSQL as before.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::repo::CodeLookup;
use crate::cache::Cache;

/// The channel on which changes to places and codes are announced.
pub const CHANNEL: &str = "codes:changed";
/// How long a lookup is kept, announced changes aside: the most a change
/// can go unseen should the channel die without the connection saying so.
const KEEP: Duration = Duration::from_secs(10);
/// Beyond this many codes, start again from empty.
const MAX_CODES: usize = 50_000;

#[derive(Default)]
pub struct LocalCodes {
    codes: RwLock<HashMap<String, (Instant, CodeLookup)>>,
    /// Counts the times everything was forgotten: a lookup that began
    /// before a change is not kept after it.
    generation: AtomicU64,
    /// Whether the channel is heard right now.
    listening: AtomicBool,
}

impl LocalCodes {
    /// Start listening for changes; the listener reconnects on its own.
    pub fn start(cache: Cache) -> Arc<LocalCodes> {
        let codes = Arc::new(LocalCodes::default());
        tokio::spawn(listen(codes.clone(), cache));
        codes
    }

    pub fn get(&self, code: &str) -> Option<CodeLookup> {
        if !self.listening.load(Ordering::Acquire) {
            return None;
        }
        let codes = self.codes.read().unwrap_or_else(PoisonError::into_inner);
        codes
            .get(code)
            .filter(|(at, _)| at.elapsed() < KEEP)
            .map(|(_, lookup)| lookup.clone())
    }

    /// Mark the start of a lookup, to keep its result with [`Self::keep`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keep a lookup that began at `generation`, unless something changed
    /// since.
    pub fn keep(&self, code: &str, lookup: &CodeLookup, generation: u64) {
        if !self.listening.load(Ordering::Acquire) {
            return;
        }
        let mut codes = self.codes.write().unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if codes.len() >= MAX_CODES {
            codes.clear();
        }
        codes.insert(code.to_owned(), (Instant::now(), lookup.clone()));
    }

    pub fn forget_all(&self) {
        let mut codes = self.codes.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        codes.clear();
    }
}

async fn listen(codes: Arc<LocalCodes>, cache: Cache) {
    loop {
        if let Some(mut changes) = cache.subscribe(CHANNEL).await {
            codes.forget_all();
            codes.listening.store(true, Ordering::Release);
            // Changes are rare (an office edits a place, replaces a code):
            // forgetting everything is simpler than knowing what to keep.
            while changes.next().await.is_some() {
                codes.forget_all();
            }
            codes.listening.store(false, Ordering::Release);
            codes.forget_all();
            tracing::warn!("code changes: channel lost, reconnecting");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Tell every instance (this one at once) that places or codes changed.
pub async fn announce(codes: &LocalCodes, cache: &Cache) {
    codes.forget_all();
    cache.publish(CHANNEL, "").await;
}
