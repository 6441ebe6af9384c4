//! moto server (PyPI), the local AWS endpoint the AWS adapters are tested against: one per test
//! process, started at first use on a free port and killed when the process exits.
//! `scripts/setup.sh` installs it in `~/.cache/boxpilot-tools/venv` (or `$BOXPILOT_TOOLS_DIR`).
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const REGION: &str = "us-east-1";

/// The moto server process; killed when dropped.
struct MotoGuard {
    child: Child,
}

impl Drop for MotoGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

static MOTO: Mutex<Option<MotoGuard>> = Mutex::new(None);
static ENDPOINT: OnceLock<String> = OnceLock::new();

extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
}

/// Runs when the test binary exits (statics are never dropped): stops moto.
extern "C" fn stop_moto() {
    if let Ok(mut moto) = MOTO.lock() {
        moto.take();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

fn moto_server() -> PathBuf {
    let tools = std::env::var_os("BOXPILOT_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/boxpilot-tools")
        });
    let path = tools.join("venv/bin/moto_server");
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
        let child = Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Cognito checks TOTP codes only with this (its secret is then fixed, not random).
            .env("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start moto_server");
        *MOTO.lock().unwrap_or_else(|e| e.into_inner()) = Some(MotoGuard { child });
        // SAFETY: registers a plain function without captures, once (std has no atexit hook).
        unsafe {
            atexit(stop_moto);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto server did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        format!("http://127.0.0.1:{port}")
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
