//! The `luutru` command: serve, migrate, seed, user.

use std::io::Read;

use clap::{Parser, Subcommand};

use crate::auth::Role;
use crate::cache::Cache;
use crate::config::{Config, Environment};
use crate::{db, telemetry, AppState};

#[derive(Parser)]
#[command(
    name = "luutru",
    version,
    about = "Lodging register, QR check-in and tourism statistics"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP on BIND_ADDR until SIGTERM or Ctrl-C.
    Serve {
        #[command(flatten)]
        config: Config,
    },
    /// Create the database if needed, run the migrations, load wards and provinces.
    Migrate {
        #[command(flatten)]
        config: Config,
    },
    /// Load the demo city (idempotent): places, users, months of stays and visits.
    Seed {
        /// The synthetic demo city (the only seed there is).
        #[arg(long)]
        demo: bool,
        /// Stays to create, spread over the past year (default: 85000 over the past thirteen months).
        #[arg(long)]
        stays: Option<usize>,
        #[command(flatten)]
        config: Config,
    },
    /// Print every place's poster (of one ward, or the whole city) into one PDF.
    Posters {
        /// Only this ward (current or former name).
        #[arg(long)]
        ward: Option<String>,
        /// a4 or a6.
        #[arg(long, default_value = "a4")]
        paper: String,
        /// Where to write the posters: one PDF, or, for a name ending in
        /// `.zip`, a ZIP of one PDF per place.
        #[arg(long)]
        out: std::path::PathBuf,
        #[command(flatten)]
        config: Config,
    },
    /// Statistics: compare the rollups with the raw tables, and time both.
    Stats {
        #[command(subcommand)]
        command: StatsCommand,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum StatsCommand {
    /// Compute last month, the last 365 days and this month's office page
    /// from the rollups and from the raw tables; print whether they agree
    /// and how long each took. Fails if any figure differs.
    Check {
        /// Timed runs from the rollups (after one warm-up).
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Timed runs from the raw tables (slow on a large city).
        #[arg(long, default_value_t = 5)]
        raw_runs: usize,
        #[command(flatten)]
        config: Config,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: Role,
        /// A place the user works at (managers and staff); repeat for several.
        #[arg(long = "place")]
        places: Vec<i64>,
        /// Read the password from standard input (required: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        config: Config,
    },
    /// Forget an account's second factor (a lost phone) and end its
    /// sessions; its next sign-in on the page sets up a new one.
    ResetSecondFactor {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        config: Config,
    },
}

pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn state(config: Config) -> anyhow::Result<AppState> {
    config.check()?;
    if config.uses_demo_secrets() {
        tracing::warn!("QR_SIGNING_KEY or DATA_ENCRYPTION_KEY not set: using the development keys");
    }
    let pool = db::connect(&config).await?;
    let read = db::read_pool(&config, &pool).await?;
    let cache = Cache::new(&config.redis_url, &config.redis_prefix)?;
    Ok(AppState::reading(config, pool, read, cache))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config } => {
            telemetry::init(config.environment == Environment::Production);
            let state = state(config).await?;
            crate::serve(state).await
        }
        Command::Migrate { config } => {
            telemetry::init(false);
            db::create_database(&config).await?;
            let pool = db::connect(&config).await?;
            db::prepare(&pool).await?;
            println!("database ready: migrations applied, wards and provinces loaded");
            Ok(())
        }
        Command::Seed {
            demo,
            stays,
            config,
        } => {
            telemetry::init(false);
            if !demo {
                anyhow::bail!("say what to seed: --demo");
            }
            if config.environment == Environment::Production {
                anyhow::bail!("the demo city is not loaded in production");
            }
            let state = state(config).await?;
            crate::seed::demo(&state, stays).await
        }
        Command::Stats {
            command:
                StatsCommand::Check {
                    runs,
                    raw_runs,
                    config,
                },
        } => {
            telemetry::init(false);
            let state = state(config).await?;
            crate::stats::rollup::fold(&state.db).await?;
            let today = crate::localtime::today(state.tz());
            let cases = crate::stats::check::run(
                &state.db,
                today,
                state.tz(),
                (runs.max(1), raw_runs.max(1)),
            )
            .await?;
            print!("{}", crate::stats::check::report(&cases));
            if cases.iter().any(|c| !c.same) {
                anyhow::bail!("the rollups and the raw tables disagree");
            }
            Ok(())
        }
        Command::Posters {
            ward,
            paper,
            out,
            config,
        } => {
            telemetry::init(false);
            let state = state(config).await?;
            let paper = crate::qr::routes::parse_paper(Some(&paper))
                .map_err(|e| anyhow::anyhow!("{}", e.describe()))?;
            let places = crate::qr::routes::places_to_print(&state, ward.as_deref())
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.describe()))?;
            let bar = indicatif::ProgressBar::new(places.len() as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("posters {bar:40} {pos}/{len}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let tick = bar.clone();
            let bundle = if out
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
            {
                crate::qr::poster::Bundle::Zip
            } else {
                crate::qr::poster::Bundle::Pdf
            };
            let pdf = crate::qr::poster::for_places(
                &state,
                &places,
                paper,
                bundle,
                Box::new(move || tick.inc(1)),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.describe()))?;
            bar.finish();
            std::fs::write(&out, pdf)?;
            println!("{} posters written to {}", places.len(), out.display());
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    role,
                    places,
                    password_stdin: _,
                    config,
                },
        } => {
            telemetry::init(false);
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let state = state(config).await?;
            let id = crate::auth::repo::create_user(&state.db, &email, password, role, &places)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.describe()))?;
            println!("created user {id} <{email}> as {}", role.as_str());
            Ok(())
        }
        Command::User {
            command: UserCommand::ResetSecondFactor { email, config },
        } => {
            telemetry::init(false);
            let state = state(config).await?;
            let found = crate::auth::reset_second_factor(&state, &email)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.describe()))?;
            if !found {
                anyhow::bail!("there is no account {email}");
            }
            println!("second factor of <{email}> forgotten; its sessions are ended");
            Ok(())
        }
    }
}
