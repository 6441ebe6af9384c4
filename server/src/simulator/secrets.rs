//! The simulator's secrets file: one `<box id> <secret>` per line, as `boxpilot device add
//! --secrets-out` writes it. Kept with mode 0600.
use app::domain::DeviceId;
use std::path::Path;

pub fn read_secrets(path: &Path) -> Result<Vec<(DeviceId, String)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(n, line)| {
            let mut parts = line.split_whitespace();
            let (Some(id), Some(secret), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(format!(
                    "{}:{}: expected `<box id> <secret>`",
                    path.display(),
                    n + 1
                ));
            };
            let id =
                DeviceId::parse(id).map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
            Ok((id, secret.to_owned()))
        })
        .collect()
}

pub fn append_secrets(path: &Path, entries: &[(DeviceId, String)]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    for (id, secret) in entries {
        writeln!(file, "{id} {secret}")?;
    }
    Ok(())
}
