//! `boxpilot`: a thin entry point over the library (see `cli`).
use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BOXPILOT_LOG")
                .unwrap_or_else(|_| "info,rmqtt=warn,boxpilot::broker::hooks=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match boxpilot::cli::run(boxpilot::cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
