//! Fixed-window rate limits kept in Redis, keyed by a hash of the client
//! address and the route, so one instance or many enforce the same budget.
//! Generous enough that a tour group of sixty phones behind one hotel Wi-Fi
//! address gets through; when Redis is down the limit is not enforced.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::cache::Cache;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub requests: u64,
    pub window: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct RateLimits {
    limits: Option<HashMap<String, Limit>>,
}

impl FromStr for RateLimits {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("off") {
            return Ok(RateLimits { limits: None });
        }
        let mut limits = HashMap::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || format!("`{part}` is not like `name=REQUESTS/SECONDS`");
            let (name, rule) = part.split_once('=').ok_or_else(bad)?;
            let (n, secs) = rule.split_once('/').ok_or_else(bad)?;
            let requests = n.trim().parse().map_err(|_| bad())?;
            let secs: u64 = secs.trim().parse().map_err(|_| bad())?;
            if secs == 0 {
                return Err(bad());
            }
            limits.insert(
                name.trim().to_owned(),
                Limit {
                    requests,
                    window: Duration::from_secs(secs),
                },
            );
        }
        Ok(RateLimits {
            limits: Some(limits),
        })
    }
}

impl RateLimits {
    pub fn get(&self, name: &str) -> Option<Limit> {
        self.limits.as_ref()?.get(name).copied()
    }

    fn key(name: &str, who: &str) -> String {
        let digest = Sha256::digest(who.as_bytes());
        format!(
            "rl:{name}:{}",
            data_encoding::HEXLOWER.encode(&digest[..12])
        )
    }

    /// Count a request of kind `name` from `who` (an address, an account);
    /// refuse it with 429 once the window's budget is spent.
    pub async fn check(&self, cache: &Cache, name: &str, who: &str) -> Result<()> {
        let Some(limit) = self.get(name) else {
            return Ok(());
        };
        match cache.hit(&Self::key(name, who), limit.window).await {
            Some((count, ttl)) if count > limit.requests => {
                Err(Error::TooManyRequests { retry_after: ttl })
            }
            _ => Ok(()),
        }
    }

    /// Refuse with 429 when `who` has already spent the budget of failures
    /// (wrong passwords, say), without counting this request.
    pub async fn check_failures(&self, cache: &Cache, name: &str, who: &str) -> Result<()> {
        let Some(limit) = self.get(name) else {
            return Ok(());
        };
        match cache.peek(&Self::key(name, who)).await {
            Some((count, ttl)) if count >= limit.requests => {
                Err(Error::TooManyRequests { retry_after: ttl })
            }
            _ => Ok(()),
        }
    }

    /// Count one failure of `who` against the budget `check_failures` reads.
    pub async fn count_failure(&self, cache: &Cache, name: &str, who: &str) {
        if let Some(limit) = self.get(name) {
            cache.hit(&Self::key(name, who), limit.window).await;
        }
    }
}
