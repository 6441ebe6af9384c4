use super::{open_store, DataDir};
use crate::identity::{random_password, BuiltinIdentity, BuiltinSettings, SigningKeys};
use clap::Subcommand;
use std::io::Read;
use std::sync::Arc;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user; prints a random password unless --password-stdin is given.
    Add {
        username: String,
        /// Comma-separated groups: a role (viewer, operator, support, admin) and fleets (fleet:<id>, fleet:*).
        #[arg(long, value_delimiter = ',', required = true)]
        groups: Vec<String>,
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Set a new password (random and printed unless --password-stdin is given).
    Passwd {
        username: String,
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// List users with their groups.
    List {
        #[command(flatten)]
        data: DataDir,
    },
    /// Disable a user: it can no longer log in or refresh its tokens.
    Disable {
        username: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Enable a disabled user.
    Enable {
        username: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Replace a user's groups.
    SetGroups {
        username: String,
        #[arg(long, value_delimiter = ',', required = true)]
        groups: Vec<String>,
        #[command(flatten)]
        data: DataDir,
    },
}

fn identity(data: &DataDir) -> Result<BuiltinIdentity, String> {
    let store = open_store(&data.data_dir)?;
    let keys = Arc::new(SigningKeys::load_or_create(&data.data_dir)?);
    // Only administration happens here: the issuer does not matter.
    Ok(BuiltinIdentity::new(
        store,
        keys,
        BuiltinSettings::new("boxpilot-cli"),
    ))
}

fn password(from_stdin: bool) -> Result<(String, bool), String> {
    if from_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| e.to_string())?;
        Ok((s.trim_end_matches(['\n', '\r']).to_owned(), false))
    } else {
        Ok((random_password(), true))
    }
}

pub async fn run(cmd: UserCommand) -> Result<(), String> {
    match cmd {
        UserCommand::Add {
            username,
            groups,
            password_stdin,
            data,
        } => {
            let (pw, print) = password(password_stdin)?;
            let user = identity(&data)?
                .add_user(&username, &pw, &groups)
                .await
                .map_err(|e| e.to_string())?;
            println!("added {} ({})", user.username, user.groups.join(","));
            if print {
                println!("password: {pw}");
            }
        }
        UserCommand::Passwd {
            username,
            password_stdin,
            data,
        } => {
            let (pw, print) = password(password_stdin)?;
            identity(&data)?
                .set_password(&username, &pw)
                .await
                .map_err(|e| e.to_string())?;
            println!("password of {username} changed");
            if print {
                println!("password: {pw}");
            }
        }
        UserCommand::List { data } => {
            for u in identity(&data)?
                .list_users()
                .await
                .map_err(|e| e.to_string())?
            {
                println!(
                    "{:<24} {:<8} {}",
                    u.username,
                    if u.enabled { "enabled" } else { "disabled" },
                    u.groups.join(",")
                );
            }
        }
        UserCommand::Disable { username, data } => {
            identity(&data)?
                .set_enabled(&username, false)
                .await
                .map_err(|e| e.to_string())?;
            println!("{username} disabled");
        }
        UserCommand::Enable { username, data } => {
            identity(&data)?
                .set_enabled(&username, true)
                .await
                .map_err(|e| e.to_string())?;
            println!("{username} enabled");
        }
        UserCommand::SetGroups {
            username,
            groups,
            data,
        } => {
            let user = identity(&data)?
                .set_groups(&username, &groups)
                .await
                .map_err(|e| e.to_string())?;
            println!("{}: {}", user.username, user.groups.join(","));
        }
    }
    Ok(())
}
