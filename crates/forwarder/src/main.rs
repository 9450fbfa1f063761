//! `forwarder`: receives Segment / RudderStack events over HTTP and
//! produces them to Apache Kafka.
//!
//! ```text
//! forwarder                         run on the embedded defaults
//! forwarder run [--config FILE]     run
//! forwarder check-config FILE       check a configuration and exit
//! forwarder --version
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use forwarder::config::{ConfigError, LogFormat, Settings};
use forwarder::worker;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

#[derive(Debug, Parser)]
#[command(
    name = "forwarder",
    version,
    about = "Segment / RudderStack events over HTTP to Apache Kafka"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the forwarder (the default command).
    Run {
        /// The TOML configuration; without it, the embedded defaults
        /// (127.0.0.1:8080, brokers at localhost:9092, topic `events`,
        /// write key `dev`).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Checks a configuration file (and the environment overrides), then
    /// exits: 0 when it is valid.
    CheckConfig {
        /// The TOML configuration.
        file: PathBuf,
    },
    /// Prints the embedded default configuration.
    PrintDefaults,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run { config: None }) {
        Command::Run { config } => run(config),
        Command::CheckConfig { file } => match load(Some(&file)) {
            Ok(s) => {
                println!("{}: ok ({})", file.display(), s.summary());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("forwarder: {e}");
                ExitCode::from(2)
            }
        },
        Command::PrintDefaults => {
            print!("{}", forwarder::config::DEFAULT_CONFIG);
            ExitCode::SUCCESS
        }
    }
}

/// Loads the configuration `run` uses: the file at `path` (or the embedded
/// defaults), the environment overrides, and the files the `ssl.*`
/// properties name. The error says where the problem is.
fn load(path: Option<&Path>) -> Result<Settings, String> {
    let settings = Settings::load(path).and_then(|s| s.check_security_files().map(|()| s));
    settings.map_err(|e| match (e, path) {
        // Names the file itself.
        (e @ ConfigError::Read { .. }, _) => e.to_string(),
        (e, Some(p)) => format!("{}: {e}", p.display()),
        (e, None) => format!("embedded defaults: {e}"),
    })
}

fn run(path: Option<PathBuf>) -> ExitCode {
    let settings = match load(path.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("forwarder: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&settings);
    match serve(&settings) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&settings.config.log.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_thread_names(true);
    match settings.config.log.format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn serve(settings: &Settings) -> Result<ExitCode, String> {
    let engine = settings
        .net
        .engine
        .resolve()
        .map_err(|e| format!("io.engine: {e}"))?;
    let listeners = worker::bind(settings).map_err(|e| format!("bind {}: {e}", settings.listen))?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        engine = engine.name(),
        "starting: {}",
        settings.summary()
    );
    let registry = worker::Registries::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    let (exit_tx, mut exit_rx) = mpsc::unbounded_channel();
    let handles = worker::spawn(settings, engine, listeners, registry, stop_rx, exit_tx)
        .map_err(|e| format!("spawn workers: {e}"))?;
    let workers = handles.len();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("signal runtime: {e}"))?;
    let timeout = Duration::from_secs(settings.config.shutdown_timeout_secs);
    let code = rt.block_on(async move {
        let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
        let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?;
        let mut exited = 0;
        let mut failed = false;
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: draining"),
            _ = int.recv() => tracing::info!("SIGINT: draining"),
            exit = exit_rx.recv() => {
                // A worker stopped on its own: stop the others.
                exited += 1;
                failed = exit.is_none_or(|e| e.result.is_err());
                tracing::error!("a worker stopped; shutting down");
            }
        }
        let _ = stop_tx.send(true);
        let drain = async {
            while exited < workers {
                match exit_rx.recv().await {
                    Some(e) => {
                        exited += 1;
                        failed |= e.result.is_err();
                    }
                    None => break,
                }
            }
        };
        tokio::select! {
            () = drain => {}
            () = tokio::time::sleep(timeout) => {
                tracing::error!(timeout_secs = timeout.as_secs(), "drain took too long; exiting");
                return Ok(ExitCode::FAILURE);
            }
            _ = term.recv() => {
                tracing::error!("second signal: exiting without draining");
                return Ok(ExitCode::FAILURE);
            }
            _ = int.recv() => {
                tracing::error!("second signal: exiting without draining");
                return Ok(ExitCode::FAILURE);
            }
        }
        if failed {
            Ok(ExitCode::FAILURE)
        } else {
            tracing::info!("drained; bye");
            Ok::<_, String>(ExitCode::SUCCESS)
        }
    })?;
    if code == ExitCode::SUCCESS {
        for h in handles {
            let _ = h.join();
        }
    }
    Ok(code)
}
