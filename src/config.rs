//! Typed configuration from the environment (and the same names as flags).

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use base64::Engine;

/// 32 secret bytes given as standard base64. `Debug` never prints them.
#[derive(Clone)]
pub struct Secret(pub [u8; 32]);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|_| {
                "must be standard base64 (try: head -c32 /dev/urandom | base64)".to_owned()
            })?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "must decode to exactly 32 bytes".to_owned())?;
        Ok(Secret(key))
    }
}

/// Reads a [`Secret`] from the command line or the environment. clap's own
/// error for a value it cannot parse quotes the value; a mistyped key is
/// still most of a key, so this one names the setting and never the value.
#[derive(Clone)]
struct SecretParser;

impl clap::builder::TypedValueParser for SecretParser {
    type Value = Secret;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Secret, clap::Error> {
        let setting = arg.map_or_else(|| "a key".to_owned(), ToString::to_string);
        value
            .to_str()
            .ok_or_else(|| "must be standard base64".to_owned())
            .and_then(Secret::from_str)
            .map_err(|why| {
                clap::Error::raw(
                    clap::error::ErrorKind::ValueValidation,
                    format!(
                        "the value of {setting} {why} (the value is a secret: it is not shown)\n"
                    ),
                )
                .with_cmd(cmd)
            })
    }
}

/// Development-only secrets, so a newcomer's `run.sh` works at once.
/// Production refuses to start with them.
const DEMO_QR_KEY: [u8; 32] = *b"luutru-demo-qr-signing-key-0001!";
const DEMO_DATA_KEY: [u8; 32] = *b"luutru-demo-data-encryption-key!";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// PostgreSQL, the source of truth.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/luutru"
    )]
    pub database_url: String,
    /// A read-only replica for the statistics (summaries, comparisons,
    /// charts, the monthly report, compliance); everything else, the
    /// register above all, reads the primary.
    #[arg(long, env = "DATABASE_READ_URL")]
    pub database_read_url: Option<String>,
    /// Redis: caches, live counters, rate limits.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// Prefix of every Redis key, so several deployments can share a server.
    #[arg(long, env = "REDIS_PREFIX", default_value = "luutru:")]
    pub redis_prefix: String,
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind_addr: SocketAddr,
    /// Where Prometheus metrics are served (`GET /metrics`), on a listener
    /// of their own; none when unset. Keep it off the public network.
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// What QR codes point at, e.g. https://luutru.vungtau.gov.vn (no trailing slash).
    #[arg(long, env = "PUBLIC_BASE_URL", default_value = "http://127.0.0.1:8080")]
    pub public_base_url: String,
    /// 32 random bytes, standard base64: signs check-in codes.
    #[arg(long, env = "QR_SIGNING_KEY", hide_env_values = true, value_parser = SecretParser)]
    pub qr_signing_key: Option<Secret>,
    /// Earlier signing keys, comma-separated: codes printed under them still
    /// verify, so the key can be rotated without reprinting posters.
    #[arg(
        long,
        env = "QR_SIGNING_KEYS_RETIRED",
        hide_env_values = true,
        value_delimiter = ',',
        value_parser = SecretParser
    )]
    pub qr_signing_keys_retired: Vec<Secret>,
    /// 32 random bytes, standard base64: encrypts personal data at rest.
    #[arg(long, env = "DATA_ENCRYPTION_KEY", hide_env_values = true, value_parser = SecretParser)]
    pub data_encryption_key: Option<Secret>,
    /// Earlier data keys, comma-separated: rows sealed under them still read,
    /// and are sealed again under the current key in the background.
    #[arg(
        long,
        env = "DATA_ENCRYPTION_KEYS_RETIRED",
        hide_env_values = true,
        value_delimiter = ',',
        value_parser = SecretParser
    )]
    pub data_encryption_keys_retired: Vec<Secret>,
    #[arg(
        long = "env",
        env = "LUUTRU_ENV",
        value_enum,
        default_value = "development"
    )]
    pub environment: Environment,
    /// `off`, or limits like `checkin=600/60,login=10/300` (requests per seconds).
    #[arg(
        long,
        env = "RATE_LIMITS",
        default_value = "checkin=600/60,visit=600/60,documents=600/60,login=10/300"
    )]
    pub rate_limits: crate::ratelimit::RateLimits,
    /// Time zone of every day boundary (arrivals "today", nights, reports).
    #[arg(long, env = "TIMEZONE", default_value = "Asia/Ho_Chi_Minh")]
    pub timezone: chrono_tz::Tz,
    /// Hours a sign-in lasts.
    #[arg(long, env = "SESSION_HOURS", default_value_t = 12)]
    pub session_hours: i64,
    /// Admin, office and inspector accounts give a code of an authenticator
    /// app (TOTP) after their password; set up at their first sign-in.
    /// Production refuses to turn it off.
    #[arg(long, env = "REQUIRE_SECOND_FACTOR", default_value_t = true,
          action = clap::ArgAction::Set)]
    pub require_second_factor: bool,
    /// Version of the personal-data notice visitors agree to.
    #[arg(long, env = "CONSENT_VERSION", default_value = "2026-01")]
    pub consent_version: String,
    /// Where poster fonts are found (Noto Sans and Noto Sans CJK).
    #[arg(long, env = "FONT_DIR", default_value = "/usr/share/fonts")]
    pub font_dir: std::path::PathBuf,
    /// Size of the PostgreSQL connection pool.
    #[arg(long, env = "DATABASE_POOL_SIZE", default_value_t = 16)]
    pub database_pool_size: u32,
    /// A stay nobody checked out is closed once its expected departure day
    /// is over, dated at this local time of that day.
    #[arg(long, env = "CHECKOUT_TIME", default_value = "12:00")]
    pub checkout_time: chrono::NaiveTime,
    /// Minutes in which a second count-in from the same phone at the same
    /// tourist site is not counted again.
    #[arg(long, env = "VISIT_REPEAT_MINUTES", default_value_t = 30)]
    pub visit_repeat_minutes: i64,
    /// The columns of the police-notification export (a CSV of sheet,
    /// heading, field); the bundled `data/police-columns.csv` when unset.
    #[arg(long, env = "POLICE_COLUMNS")]
    pub police_columns: Option<std::path::PathBuf>,
    /// Breakdown cells with fewer arrivals are folded into "other" for
    /// readers who see no names (the office).
    #[arg(long, env = "STATS_MIN_CELL", default_value_t = 5)]
    pub stats_min_cell: i64,
    /// Days after a guest's departure when their personal data (name, date
    /// of birth, document, address, phone, visa) is deleted; the facts the
    /// statistics need stay.
    /// At least one day: a guest in house is never purged.
    #[arg(long, env = "RETENTION_DAYS", default_value_t = 1095,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub retention_days: i64,
}

impl Config {
    /// Configuration from the environment alone (tests, tools).
    pub fn from_env() -> anyhow::Result<Self> {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            config: Config,
        }
        let wrapper = <Wrapper as clap::Parser>::try_parse_from(["luutru"])?;
        Ok(wrapper.config)
    }

    /// Refuse to run production with missing or demo secrets.
    pub fn check(&self) -> anyhow::Result<()> {
        crate::register::police::Layout::load(self.police_columns.as_deref())?;
        crate::crypto::check_key_ids(&self.data_key(), &self.retired_data_keys())
            .map_err(anyhow::Error::msg)?;
        if self.environment == Environment::Production {
            for (name, secret, demo) in [
                ("QR_SIGNING_KEY", &self.qr_signing_key, DEMO_QR_KEY),
                (
                    "DATA_ENCRYPTION_KEY",
                    &self.data_encryption_key,
                    DEMO_DATA_KEY,
                ),
            ] {
                match secret {
                    None => anyhow::bail!("{name} must be set in production"),
                    Some(s) if s.0 == demo => {
                        anyhow::bail!("{name} is the demo key; set a real one")
                    }
                    Some(_) => {}
                }
            }
            if !self.require_second_factor {
                anyhow::bail!("REQUIRE_SECOND_FACTOR cannot be false in production");
            }
            if !self.public_base_url.starts_with("https://") {
                anyhow::bail!("PUBLIC_BASE_URL must be https:// in production");
            }
        }
        Ok(())
    }

    pub fn qr_key(&self) -> [u8; 32] {
        self.qr_signing_key.as_ref().map_or(DEMO_QR_KEY, |s| s.0)
    }

    pub fn retired_qr_keys(&self) -> Vec<[u8; 32]> {
        self.qr_signing_keys_retired.iter().map(|s| s.0).collect()
    }

    pub fn data_key(&self) -> [u8; 32] {
        self.data_encryption_key
            .as_ref()
            .map_or(DEMO_DATA_KEY, |s| s.0)
    }

    pub fn retired_data_keys(&self) -> Vec<[u8; 32]> {
        self.data_encryption_keys_retired
            .iter()
            .map(|s| s.0)
            .collect()
    }

    pub fn uses_demo_secrets(&self) -> bool {
        self.qr_signing_key.is_none() || self.data_encryption_key.is_none()
    }

    pub fn base_url(&self) -> &str {
        self.public_base_url.trim_end_matches('/')
    }
}

#[cfg(test)]
mod tests {
    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(flatten)]
        config: super::Config,
    }

    fn parse(args: &[&str]) -> Result<super::Config, clap::Error> {
        <Wrapper as clap::Parser>::try_parse_from(
            std::iter::once("luutru").chain(args.iter().copied()),
        )
        .map(|w| w.config)
    }

    #[test]
    fn a_malformed_key_is_refused_without_being_shown() {
        let almost = "c2VjcmV0LWtleS10aGF0LWlzLWEtYml0LXNob3J0";
        for setting in ["--qr-signing-key", "--data-encryption-keys-retired"] {
            let error = parse(&[setting, almost]).expect_err("refused").to_string();
            assert!(error.contains(setting), "{error}");
            assert!(error.contains("32 bytes"), "{error}");
            assert!(!error.contains(almost), "{error}");
        }
        let key = "bHV1dHJ1LXRlc3QtcXItc2lnbmluZy1rZXktMDAwMSE=";
        assert!(parse(&["--qr-signing-key", key])
            .unwrap()
            .qr_signing_key
            .is_some());
    }

    #[test]
    fn retention_is_at_least_a_day() {
        assert_eq!(
            parse(&["--retention-days", "30"]).unwrap().retention_days,
            30
        );
        let error = parse(&["--retention-days", "0"]).expect_err("refused");
        assert!(error.to_string().contains("retention-days"), "{error}");
        assert!(parse(&["--retention-days=-5"]).is_err());
    }

    #[test]
    fn production_keeps_the_second_factor() {
        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let other = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
        let production = [
            "--env=production",
            "--public-base-url=https://luutru.example.vn",
            "--qr-signing-key",
            key,
            "--data-encryption-key",
            other,
        ];
        let config = parse(&production).unwrap();
        assert!(config.require_second_factor, "on unless turned off");
        config.check().unwrap();
        let off =
            parse(&[&production[..], &["--require-second-factor", "false"]].concat()).unwrap();
        let error = off.check().expect_err("refused");
        assert!(
            error.to_string().contains("REQUIRE_SECOND_FACTOR"),
            "{error}"
        );
        let dev = parse(&["--require-second-factor", "false"]).unwrap();
        dev.check().unwrap();
    }

    #[test]
    fn production_refuses_missing_and_demo_keys() {
        use base64::Engine;
        let https = "--public-base-url=https://luutru.example.vn";
        let error = parse(&["--env=production", https])
            .unwrap()
            .check()
            .expect_err("refused");
        assert!(
            error.to_string().contains("QR_SIGNING_KEY must be set"),
            "{error}"
        );
        let demo = base64::engine::general_purpose::STANDARD.encode(super::DEMO_QR_KEY);
        let other = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
        let config = parse(&[
            "--env=production",
            https,
            "--qr-signing-key",
            &demo,
            "--data-encryption-key",
            other,
        ])
        .unwrap();
        let error = config.check().expect_err("refused");
        assert!(error.to_string().contains("demo key"), "{error}");
        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let plain_http = parse(&[
            "--env=production",
            "--qr-signing-key",
            key,
            "--data-encryption-key",
            other,
        ])
        .unwrap();
        assert!(plain_http.check().is_err(), "production is https");
    }
}
