//! cognito-local (npm), a second local Cognito for what moto server does not do (RevokeToken):
//! one per test process, started at first use on a free port and killed when the process exits.
//! `scripts/setup.sh` installs it in `~/.cache/boxpilot-tools/node_modules` (or
//! `$BOXPILOT_TOOLS_DIR`); it runs on the `node` of `PATH`.
//!
//! It listens on `$HOST:$PORT` and keeps its pools, users and refresh tokens in `.cognito/` under
//! its working directory, so it runs in a fresh temporary directory (removed at exit), never in
//! the clone; `.cognito/config.json` there sets pool defaults as AWS's. Its pool ids are
//! `local_<8 characters>`: use [`REGION`] with them.
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The "region" of cognito-local's pool ids (`local_…`), which `CognitoSettings` checks.
pub const REGION: &str = "local";

/// The cognito-local process and its working directory; killed and removed when dropped.
struct CognitoLocalGuard {
    child: Child,
    workdir: PathBuf,
}

impl Drop for CognitoLocalGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.workdir);
    }
}

static COGNITO_LOCAL: Mutex<Option<CognitoLocalGuard>> = Mutex::new(None);
static ENDPOINT: OnceLock<String> = OnceLock::new();

extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
}

/// Runs when the test binary exits (statics are never dropped): stops cognito-local.
extern "C" fn stop_cognito_local() {
    if let Ok(mut server) = COGNITO_LOCAL.lock() {
        server.take();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

/// The entry point of the installed package (its `bin`).
fn start_script() -> PathBuf {
    let tools = std::env::var_os("BOXPILOT_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/boxpilot-tools")
        });
    let path = tools.join("node_modules/cognito-local/lib/bin/start.js");
    assert!(
        path.exists(),
        "cognito-local not found at {}: run scripts/setup.sh (it installs cognito-local from npm)",
        path.display()
    );
    path
}

/// The endpoint of this process's cognito-local, started at the first call.
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
        let child = Command::new("node")
            .arg(&script)
            .current_dir(&workdir)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start cognito-local with node ({e}): run scripts/setup.sh")
            });
        *COGNITO_LOCAL.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(CognitoLocalGuard { child, workdir });
        // SAFETY: registers a plain function without captures, once (std has no atexit hook).
        unsafe {
            atexit(stop_cognito_local);
        }
        // It listens only once its data store is loaded.
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = COGNITO_LOCAL
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_mut()
                .and_then(|g| g.child.try_wait().ok().flatten());
            if let Some(status) = exited {
                panic!("cognito-local exited ({status}) before listening: run scripts/setup.sh");
            }
            assert!(
                Instant::now() < deadline,
                "cognito-local did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        format!("http://127.0.0.1:{port}")
    })
}
