//! The command line: `serve`, `demo`, `simulate`, `user ...`, `device ...`. Every flag also reads
//! an environment variable `BOXPILOT_*`.
mod demo;
mod device;
mod identity_args;
mod serve;
mod simulate;
mod user;

pub use device::register as register_device;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "boxpilot",
    version,
    about = "Monitor and pilot fleets of IoT boxes"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the embedded store, keys and secrets live.
#[derive(clap::Args, Debug, Clone)]
pub struct DataDir {
    #[arg(long, env = "BOXPILOT_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the console, API, embedded broker, store and identity provider on this machine.
    Serve(serve::ServeArgs),
    /// `serve` plus two simulated fleets of ten boxes and demo users whose passwords are printed.
    Demo(demo::DemoArgs),
    /// Drive simulated boxes against an MQTT broker.
    Simulate(simulate::SimulateArgs),
    /// Manage users: the built-in identity provider's, or a Cognito pool's (`--identity cognito`).
    #[command(subcommand)]
    User(user::UserCommand),
    /// Register boxes and make their secrets.
    #[command(subcommand)]
    Device(device::DeviceCommand),
}

pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Simulate(args) => simulate::run(args).await,
        Command::User(cmd) => user::run(cmd).await,
        Command::Device(cmd) => device::run(cmd).await,
    }
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Opens the store of the data directory for an administrative command, with a clear message when
/// a running server holds it.
pub fn open_store(
    data_dir: &std::path::Path,
) -> Result<std::sync::Arc<crate::store::EmbeddedStore>, String> {
    crate::store::EmbeddedStore::open(data_dir).map(std::sync::Arc::new).map_err(|e| {
        let text = e.to_string();
        if text.contains("lock") || text.contains("already open") {
            format!("{text}\nA running `boxpilot serve` holds {}: stop it first, or use the HTTP API.", data_dir.display())
        } else {
            text
        }
    })
}
