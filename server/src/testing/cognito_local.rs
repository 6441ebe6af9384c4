//! cognito-local (npm), a second local Cognito for what moto server does not do (RevokeToken):
//! one per test process, started at first use on a free port and killed when the process exits.
//! `scripts/setup.sh` installs it in `~/.cache/boxpilot-tools/node_modules` (or
//! `$BOXPILOT_TOOLS_DIR`); it runs on the `node` of `PATH`.
//!
//! It listens on `$HOST:$PORT` and keeps its pools, users and refresh tokens in `.cognito/` under
//! its working directory, so it runs in a fresh temporary directory (removed at exit), never in
//! the clone; `.cognito/config.json` there sets pool defaults as AWS's. Its pool ids are
//! `local_<8 characters>`: use [`REGION`] with them.
use super::local_service::{free_port, start, tools_dir};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The "region" of cognito-local's pool ids (`local_…`), which `CognitoSettings` checks.
pub const REGION: &str = "local";

static ENDPOINT: OnceLock<String> = OnceLock::new();

/// The entry point of the installed package (its `bin`).
fn start_script() -> PathBuf {
    let path = tools_dir().join("node_modules/cognito-local/lib/bin/start.js");
    assert!(
        path.exists(),
        "cognito-local not found at {}: run scripts/setup.sh (it installs cognito-local from npm)",
        path.display()
    );
    path
}

/// The endpoint of this process's cognito-local, started at the first call (it listens only
/// once its data store is loaded).
pub fn endpoint() -> &'static str {
    ENDPOINT.get_or_init(|| {
        let script = start_script();
        let port = free_port();
        let workdir =
            std::env::temp_dir().join(format!("boxpilot-cognito-local-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&workdir);
        // Its own default makes every new pool sign in by email (`UsernameAttributes: [email]`,
        // merged into CreateUserPool's request); AWS's default is a plain username.
        let config = workdir.join(".cognito");
        std::fs::create_dir_all(&config).expect("a working directory for cognito-local");
        std::fs::write(
            config.join("config.json"),
            r#"{"UserPoolDefaults":{"UsernameAttributes":[]}}"#,
        )
        .expect("cognito-local's config");
        let mut command = Command::new("node");
        command
            .arg(&script)
            .current_dir(&workdir)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string());
        start("cognito-local (node)", command, port, Some(workdir))
    })
}
