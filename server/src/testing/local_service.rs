//! A local stand-in for an AWS service (moto server, cognito-local) run by a test process: started
//! on a free port, waited for until it listens, and killed (its working directory removed) when
//! the test binary exits.
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// A started service; killed and its working directory removed when dropped.
struct Guard {
    child: Child,
    workdir: Option<PathBuf>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.workdir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

static RUNNING: Mutex<Vec<Guard>> = Mutex::new(Vec::new());

extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
}

/// Runs when the test binary exits (statics are never dropped): stops every service.
extern "C" fn stop_all() {
    if let Ok(mut running) = RUNNING.lock() {
        running.clear();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

/// Where scripts/setup.sh installs the tools: `$BOXPILOT_TOOLS_DIR` or `~/.cache/boxpilot-tools`.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("BOXPILOT_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/boxpilot-tools")
        })
}

/// Starts `command` (already given its port), kept until the process exits, and returns once
/// `port` accepts connections; `name` is for the messages. `workdir` is removed at exit.
pub fn start(name: &str, mut command: Command, port: u16, workdir: Option<PathBuf>) -> String {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name} ({e}): run scripts/setup.sh"));
    static REGISTER: Once = Once::new();
    // SAFETY: registers a plain function without captures, once (std has no atexit hook).
    REGISTER.call_once(|| unsafe {
        atexit(stop_all);
    });
    let index = {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        running.push(Guard { child, workdir });
        running.len() - 1
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        let exited = RUNNING.lock().unwrap_or_else(|e| e.into_inner())[index]
            .child
            .try_wait()
            .ok()
            .flatten();
        if let Some(status) = exited {
            panic!("{name} exited ({status}) before listening: run scripts/setup.sh");
        }
        assert!(
            Instant::now() < deadline,
            "{name} did not listen on port {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    format!("http://127.0.0.1:{port}")
}
