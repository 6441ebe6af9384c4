use super::shutdown_signal;
use crate::simulator::{self, read_secrets, SimulatorConfig};
use app::domain::FleetId;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

#[derive(clap::Args, Debug, Clone)]
pub struct SimulateArgs {
    /// `mqtt://host:port` or `ws://host:port/mqtt`.
    #[arg(
        long,
        env = "BOXPILOT_SIM_BROKER",
        default_value = "mqtt://127.0.0.1:1883"
    )]
    pub broker: String,
    #[arg(long, env = "BOXPILOT_SIM_FLEET")]
    pub fleet: FleetId,
    /// `<box id> <secret>` lines, as `boxpilot device add --secrets-out` writes them.
    #[arg(long, env = "BOXPILOT_SIM_SECRETS")]
    pub secrets: PathBuf,
    /// Simulate only the first N boxes of the file.
    #[arg(long, env = "BOXPILOT_SIM_DEVICES")]
    pub devices: Option<usize>,
    /// Messages per second per box.
    #[arg(long, env = "BOXPILOT_SIM_RATE", default_value_t = 1.0)]
    pub rate: f64,
    /// Probability of skipping a sequence number, to see loss counted.
    #[arg(long, env = "BOXPILOT_SIM_LOSS", default_value_t = 0.0)]
    pub loss: f64,
    /// Probability that a simulated box fails a command it knows.
    #[arg(long, env = "BOXPILOT_SIM_FAIL_RATE", default_value_t = 0.0)]
    pub fail_rate: f64,
    #[command(flatten)]
    pub burst: BurstArgs,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long, env = "BOXPILOT_SIM_DURATION")]
    pub duration: Option<u64>,
}

/// A burst of faster sending, to see a message-rate spike flagged.
#[derive(clap::Args, Debug, Clone)]
pub struct BurstArgs {
    /// Send this many times faster during the burst (e.g. 10); no burst when absent.
    #[arg(long = "burst", env = "BOXPILOT_SIM_BURST")]
    pub factor: Option<f64>,
    /// Seconds from the start until the burst.
    #[arg(
        long = "burst-after",
        env = "BOXPILOT_SIM_BURST_AFTER",
        default_value_t = 1200
    )]
    pub after: u64,
    /// Seconds the burst lasts.
    #[arg(
        long = "burst-for",
        env = "BOXPILOT_SIM_BURST_FOR",
        default_value_t = 300
    )]
    pub duration: u64,
}

impl BurstArgs {
    pub fn burst(&self) -> Option<simulator::Burst> {
        self.factor.map(|factor| simulator::Burst {
            factor,
            after: std::time::Duration::from_secs(self.after),
            duration: std::time::Duration::from_secs(self.duration),
        })
    }
}

pub async fn run(args: SimulateArgs) -> Result<(), String> {
    let mut boxes = read_secrets(&args.secrets)?;
    if let Some(n) = args.devices {
        if n > boxes.len() {
            return Err(format!(
                "--devices {n}: {} holds only {} boxes",
                args.secrets.display(),
                boxes.len()
            ));
        }
        boxes.truncate(n);
    }
    let config = SimulatorConfig {
        broker: args.broker,
        fleet: args.fleet,
        boxes,
        rate: args.rate,
        loss: args.loss,
        firmware: "1.4.2".into(),
        fail_rate: args.fail_rate,
        burst: args.burst.burst(),
    };
    simulator::validate(&config)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let count = config.boxes.len();
    let task = tokio::spawn(simulator::run(config, stopped));
    println!("simulating {count} box(es); Ctrl-C to stop");
    match args.duration {
        Some(s) => tokio::time::sleep(std::time::Duration::from_secs(s)).await,
        None => shutdown_signal().await,
    }
    let _ = stop.send(true);
    let stats = task.await.map_err(|e| e.to_string())??;
    println!(
        "published {} message(s), skipped {} on purpose, {} connection error(s)",
        stats.published.load(Ordering::Relaxed),
        stats.skipped.load(Ordering::Relaxed),
        stats.connection_errors.load(Ordering::Relaxed)
    );
    Ok(())
}
