use super::device::{numbered, register};
use super::serve::{self, ServeArgs};
use super::shutdown_signal;
use crate::identity::random_password;
use crate::simulator::{self, append_secrets, read_secrets, SimulatorConfig};
use app::domain::{DeviceId, FleetId};

#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Messages per second per simulated box.
    #[arg(long, env = "BOXPILOT_DEMO_RATE", default_value_t = 1.0)]
    pub rate: f64,
    /// Probability that a simulated box skips a sequence number.
    #[arg(long, env = "BOXPILOT_DEMO_LOSS", default_value_t = 0.01)]
    pub loss: f64,
    /// Probability that a simulated box fails a command it knows.
    #[arg(long, env = "BOXPILOT_DEMO_FAIL_RATE", default_value_t = 0.0)]
    pub fail_rate: f64,
    #[command(flatten)]
    pub burst: super::simulate::BurstArgs,
}

const FLEETS: [&str; 2] = ["north", "south"];
const BOXES_PER_FLEET: u32 = 10;
const SECRETS_FILE: &str = "demo-secrets.txt";

/// Registers the demo boxes on first run; returns each fleet's boxes with their secrets.
async fn demo_fleet(
    running: &crate::runtime::Running,
    data_dir: &std::path::Path,
) -> Result<Vec<(FleetId, Vec<(DeviceId, String)>)>, String> {
    let path = data_dir.join(SECRETS_FILE);
    let known = if path.exists() {
        read_secrets(&path)?
    } else {
        Vec::new()
    };
    let mut fleets = Vec::new();
    for name in FLEETS {
        let fleet = FleetId::parse(name).map_err(|e| e.to_string())?;
        let prefix = DeviceId::parse(&format!("{name}-box")).map_err(|e| e.to_string())?;
        let mut boxes = Vec::new();
        for n in 1..=BOXES_PER_FLEET {
            let id = numbered(&prefix, n)?;
            match known.iter().find(|(k, _)| *k == id) {
                Some(entry) => boxes.push(entry.clone()),
                None => {
                    let secret = register(running.store.as_ref(), &fleet, &id).await?;
                    append_secrets(&path, &[(id.clone(), secret.clone())])
                        .map_err(|e| e.to_string())?;
                    boxes.push((id, secret));
                }
            }
        }
        fleets.push((fleet, boxes));
    }
    Ok(fleets)
}

/// Creates or resets the demo users with fresh random passwords.
async fn demo_users(
    running: &crate::runtime::Running,
) -> Result<Vec<(String, String, String)>, String> {
    let users = [
        ("demo-admin", "admin"),
        ("demo-operator", "operator,fleet:north,fleet:south"),
        ("demo-viewer", "viewer,fleet:north"),
    ];
    let mut out = Vec::new();
    for (name, groups) in users {
        let groups: Vec<String> = groups.split(',').map(str::to_owned).collect();
        let password = random_password();
        let id = &running.users;
        if id
            .list_users()
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .any(|u| u.username == name)
        {
            id.set_password(name, &password)
                .await
                .map_err(|e| e.to_string())?;
            id.set_groups(name, &groups)
                .await
                .map_err(|e| e.to_string())?;
            id.set_enabled(name, true)
                .await
                .map_err(|e| e.to_string())?;
        } else {
            id.add_user(name, &password, &groups)
                .await
                .map_err(|e| e.to_string())?;
        }
        out.push((name.to_owned(), password, groups.join(",")));
    }
    Ok(out)
}

/// On first run, alert rules for each demo fleet, so that `--loss` and `--burst` show alerts
/// within minutes. Returns how many were created.
async fn demo_alert_rules(running: &crate::runtime::Running) -> Result<usize, String> {
    let existing = running
        .store
        .list_alert_rules()
        .await
        .map_err(|e| e.to_string())?;
    if !existing.is_empty() {
        return Ok(0);
    }
    let mut created = 0;
    for fleet in FLEETS {
        for rule in [
            serde_json::json!({"id": format!("{fleet}-loss"), "fleet": fleet, "kind": "loss_ratio_above", "percent": 5.0}),
            serde_json::json!({"id": format!("{fleet}-rate"), "fleet": fleet, "kind": "message_rate_spike"}),
            serde_json::json!({"id": format!("{fleet}-cost"), "fleet": fleet, "kind": "cost_spike"}),
            serde_json::json!({"id": format!("{fleet}-offline"), "fleet": fleet, "kind": "box_offline_longer_than", "minutes": 5}),
        ] {
            let rule: crate::store::AlertRule =
                serde_json::from_value(rule).map_err(|e| e.to_string())?;
            running
                .store
                .put_alert_rule(&rule)
                .await
                .map_err(|e| e.to_string())?;
            created += 1;
        }
    }
    Ok(created)
}

pub async fn run(args: DemoArgs) -> Result<(), String> {
    let running = serve::start(&args.serve).await?;
    let fleets = demo_fleet(&running, &args.serve.data.data_dir).await?;
    let users = demo_users(&running).await?;
    let rules = demo_alert_rules(&running).await?;
    println!();
    println!("Demo users (new passwords at every start):");
    for (name, password, groups) in &users {
        println!("  {name:<14} {password}   ({groups})");
    }
    if running.users.passwords_are_temporary() {
        println!("(temporary passwords: each user chooses a new one at the first sign-in)");
    }
    if rules > 0 {
        println!("Alert rules created for the demo fleets: lost messages, message-rate and cost spikes, boxes offline (see Monitoring as demo-admin).");
    }
    println!("Open {} and log in as demo-operator.", running.public_url);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut sims = Vec::new();
    for (fleet, boxes) in fleets {
        let config = SimulatorConfig {
            broker: format!("mqtt://{}", running.mqtt_addr),
            fleet,
            boxes,
            rate: args.rate,
            loss: args.loss,
            firmware: "1.4.2".into(),
            fail_rate: args.fail_rate,
            burst: args.burst.burst(),
        };
        simulator::validate(&config)?;
        sims.push(tokio::spawn(simulator::run(config, stopped.clone())));
    }
    println!(
        "{} simulated boxes are publishing. Ctrl-C to stop.",
        FLEETS.len() as u32 * BOXES_PER_FLEET
    );
    shutdown_signal().await;
    println!("stopping…");
    let _ = stop.send(true);
    for s in sims {
        let _ = s.await;
    }
    running.stop().await;
    Ok(())
}
