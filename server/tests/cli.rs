//! The `boxpilot` command line on a data directory.
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn boxpilot(data: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_boxpilot"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn users_and_devices_are_managed_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();

    let added = boxpilot(
        data,
        &["user", "add", "ann", "--groups", "operator,fleet:north"],
        None,
    );
    assert!(added.status.success(), "{}", text(&added));
    let password = text(&added)
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a printed password")
        .to_owned();
    assert!(password.len() >= 20);

    let again = boxpilot(data, &["user", "add", "ann", "--groups", "viewer"], None);
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists"));

    let bad_group = boxpilot(
        data,
        &["user", "set-groups", "ann", "--groups", "root"],
        None,
    );
    assert!(!bad_group.status.success());
    assert!(
        text(&bad_group).contains("unknown group"),
        "{}",
        text(&bad_group)
    );

    let short = boxpilot(
        data,
        &["user", "passwd", "ann", "--password-stdin"],
        Some("short\n"),
    );
    assert!(!short.status.success());
    assert!(text(&short).contains("at least 10 characters"));
    let ok = boxpilot(
        data,
        &["user", "passwd", "ann", "--password-stdin"],
        Some("a-long-enough-password\n"),
    );
    assert!(ok.status.success(), "{}", text(&ok));

    assert!(boxpilot(data, &["user", "disable", "ann"], None)
        .status
        .success());
    let list = text(&boxpilot(data, &["user", "list"], None));
    assert!(
        list.contains("ann") && list.contains("disabled") && list.contains("fleet:north"),
        "{list}"
    );
    assert!(!boxpilot(data, &["user", "disable", "nobody"], None)
        .status
        .success());

    let device = boxpilot(
        data,
        &["device", "add", "--fleet", "north", "--id", "cold-7"],
        None,
    );
    assert!(device.status.success(), "{}", text(&device));
    let line = String::from_utf8_lossy(&device.stdout).trim().to_owned();
    let (id, secret) = line.split_once(' ').unwrap();
    assert_eq!(id, "cold-7");
    assert_eq!(secret.len(), 43);
    let twice = boxpilot(
        data,
        &["device", "add", "--fleet", "south", "--id", "cold-7"],
        None,
    );
    assert!(!twice.status.success() && text(&twice).contains("already exists"));
    let bad_id = boxpilot(
        data,
        &["device", "add", "--fleet", "north", "--id", "a/b"],
        None,
    );
    assert!(
        !bad_id.status.success() && text(&bad_id).contains("1 to 64 characters"),
        "{}",
        text(&bad_id)
    );

    let secrets = data.join("secrets.txt");
    let bulk = boxpilot(
        data,
        &[
            "device",
            "add",
            "--fleet",
            "north",
            "--id",
            "sim",
            "--count",
            "3",
            "--secrets-out",
            secrets.to_str().unwrap(),
        ],
        None,
    );
    assert!(bulk.status.success(), "{}", text(&bulk));
    assert_eq!(
        std::fs::read_to_string(&secrets).unwrap().lines().count(),
        3
    );
    let listed = text(&boxpilot(
        data,
        &["device", "list", "--fleet", "north"],
        None,
    ));
    assert_eq!(listed.lines().count(), 4, "{listed}");
}

#[test]
fn the_first_admin_password_is_random_and_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_boxpilot"))
            .args([
                "serve",
                "--http",
                "127.0.0.1:0",
                "--mqtt",
                "127.0.0.1:0",
                "--mqtt-ws",
                "127.0.0.1:0",
            ])
            .arg("--data-dir")
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = String::new();
        let mut stdout = child.stdout.take().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut buf = [0u8; 4096];
        while !out.contains("data ") && std::time::Instant::now() < deadline {
            use std::io::Read;
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        out
    };
    let first = run();
    let password = first
        .split("password `")
        .nth(1)
        .and_then(|s| s.split('`').next())
        .unwrap_or_else(|| panic!("{first}"));
    assert!(password.len() >= 20 && password != "admin");
    let second = run();
    assert!(second.contains("boxpilot console"), "{second}");
    assert!(!second.contains("password"), "printed once only: {second}");
}

#[test]
fn bad_monitoring_settings_stop_serve_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let serve = |extra: &[&str]| {
        let mut args = vec![
            "serve",
            "--http",
            "127.0.0.1:0",
            "--mqtt",
            "127.0.0.1:0",
            "--mqtt-ws",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        boxpilot(dir.path(), &args, None)
    };
    let prices = dir.path().join("prices.json");
    std::fs::write(
        &prices,
        r#"{"region": "eu-west-1", "prices": {"iot_messaging_per_milion": 1.1}}"#,
    )
    .unwrap();
    let out = serve(&["--prices", prices.to_str().unwrap()]);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains("--prices") && said.contains("iot_messaging_per_milion"),
        "the typo is named: {said}"
    );
    std::fs::write(
        &prices,
        r#"{"prices": {"dynamodb_write_units_per_million": -2}}"#,
    )
    .unwrap();
    let said = text(&serve(&["--prices", prices.to_str().unwrap()]));
    assert!(
        said.contains("--prices") && said.contains("dynamodb_write_units_per_million"),
        "{said}"
    );
    let out = serve(&["--alert-webhook", "ftp://example.invalid/hook"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--alert-webhook"), "{}", text(&out));
    let out = serve(&["--alert-every", "0"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--alert-every"), "{}", text(&out));
}
