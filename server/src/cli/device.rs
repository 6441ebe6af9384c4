use super::{open_store, DataDir};
use crate::access::{hash_device_secret, new_device_secret};
use crate::simulator::append_secrets;
use crate::store::{DeviceRecord, Store};
use app::domain::{DeviceId, FleetId};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum DeviceCommand {
    /// Register a box (or --count boxes) and print its secret once.
    Add {
        #[arg(long)]
        fleet: FleetId,
        /// The box id; with --count, the prefix of the ids (`<id>-01`, `<id>-02`, …).
        #[arg(long)]
        id: DeviceId,
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Append `<box id> <secret>` lines to this file (mode 0600) instead of printing them.
        #[arg(long)]
        secrets_out: Option<PathBuf>,
        #[command(flatten)]
        data: DataDir,
    },
    /// List registered boxes.
    List {
        #[arg(long)]
        fleet: Option<FleetId>,
        #[command(flatten)]
        data: DataDir,
    },
}

/// Registers one box and returns its new secret.
pub async fn register(store: &dyn Store, fleet: &FleetId, id: &DeviceId) -> Result<String, String> {
    // Browser sessions use `console-…` MQTT client ids; a box by that name could be kicked by one.
    if id.as_str().starts_with("console-") {
        return Err(format!(
            "box id {id}: ids starting with `console-` are reserved for browser sessions"
        ));
    }
    let secret = new_device_secret();
    let record = DeviceRecord {
        id: id.clone(),
        fleet: fleet.clone(),
        secret_hash: hash_device_secret(&secret),
        created_at: chrono::Utc::now().timestamp_millis(),
        presence: Default::default(),
        latest_ts: None,
        latest_seq: None,
        latest: Default::default(),
    };
    store
        .create_device(&record)
        .await
        .map_err(|e| e.to_string())?;
    Ok(secret)
}

pub fn numbered(prefix: &DeviceId, n: u32) -> Result<DeviceId, String> {
    DeviceId::parse(&format!("{prefix}-{n:02}")).map_err(|e| e.to_string())
}

pub async fn run(cmd: DeviceCommand) -> Result<(), String> {
    match cmd {
        DeviceCommand::Add {
            fleet,
            id,
            count,
            secrets_out,
            data,
        } => {
            if !(1..=100_000).contains(&count) {
                return Err("--count must be between 1 and 100000".into());
            }
            let store = open_store(&data.data_dir)?;
            let mut made = Vec::new();
            for n in 1..=count {
                let box_id = if count == 1 {
                    id.clone()
                } else {
                    numbered(&id, n)?
                };
                let secret = register(store.as_ref(), &fleet, &box_id).await?;
                made.push((box_id, secret));
            }
            match secrets_out {
                Some(path) => {
                    append_secrets(&path, &made)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    println!(
                        "registered {} box(es) in fleet {fleet}; secrets appended to {}",
                        made.len(),
                        path.display()
                    );
                }
                None => {
                    for (box_id, secret) in made {
                        println!("{box_id} {secret}");
                    }
                    eprintln!("Keep these secrets: they are shown once and stored only hashed.");
                }
            }
        }
        DeviceCommand::List { fleet, data } => {
            let store = open_store(&data.data_dir)?;
            for d in store
                .list_devices(fleet.as_ref())
                .await
                .map_err(|e| e.to_string())?
            {
                let state = if d.presence.online {
                    "online"
                } else {
                    "offline"
                };
                println!(
                    "{:<24} {:<16} {:<8} seq {}",
                    d.id,
                    d.fleet,
                    state,
                    d.latest_seq.map_or("-".into(), |s| s.to_string())
                );
            }
        }
    }
    Ok(())
}
