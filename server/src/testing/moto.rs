//! moto server (PyPI), the local AWS endpoint the AWS adapters are tested against: one per test
//! process, started at first use on a free port and killed when the process exits.
//! `scripts/setup.sh` installs it in `~/.cache/boxpilot-tools/venv` (or `$BOXPILOT_TOOLS_DIR`).
use super::local_service::{free_port, start, tools_dir};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub const REGION: &str = "us-east-1";

static ENDPOINT: OnceLock<String> = OnceLock::new();

fn moto_server() -> PathBuf {
    let path = tools_dir().join("venv/bin/moto_server");
    assert!(
        path.exists(),
        "moto server not found at {}: run scripts/setup.sh (it installs moto[server] in a venv)",
        path.display()
    );
    path
}

/// The endpoint of this process's moto server, started at the first call.
pub fn endpoint() -> &'static str {
    ENDPOINT.get_or_init(|| {
        let port = free_port();
        let mut command = Command::new(moto_server());
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Cognito checks TOTP codes only with this (its secret is then fixed, not random).
            .env("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true");
        start("moto server", command, port, None)
    })
}

/// A table name no other test of this process uses.
pub fn table_name() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "boxpilot-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
