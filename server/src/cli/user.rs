use super::identity_args::IdentityArgs;
use super::{open_store, DataDir};
use crate::identity::{
    random_password, BuiltinIdentity, BuiltinSettings, IdentityChoice, SigningKeys, UserDirectory,
};
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
        #[command(flatten)]
        identity: IdentityArgs,
    },
    /// Set a new password (random and printed unless --password-stdin is given).
    Passwd {
        username: String,
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        identity: IdentityArgs,
    },
    /// List users with their groups.
    List {
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        identity: IdentityArgs,
    },
    /// Disable a user: it can no longer log in or refresh its tokens.
    Disable {
        username: String,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        identity: IdentityArgs,
    },
    /// Enable a disabled user.
    Enable {
        username: String,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        identity: IdentityArgs,
    },
    /// Replace a user's groups.
    SetGroups {
        username: String,
        #[arg(long, value_delimiter = ',', required = true)]
        groups: Vec<String>,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        identity: IdentityArgs,
    },
}

/// The users of the identity provider the flags name: the store's, or a Cognito pool's.
async fn directory(
    data: &DataDir,
    identity: &IdentityArgs,
) -> Result<Arc<dyn UserDirectory>, String> {
    match identity.choice()? {
        IdentityChoice::Builtin => {
            let store = open_store(&data.data_dir)?;
            let keys = Arc::new(SigningKeys::load_or_create(&data.data_dir)?);
            // Only administration happens here: the issuer does not matter.
            Ok(Arc::new(BuiltinIdentity::new(
                store,
                keys,
                BuiltinSettings::new("boxpilot-cli"),
            )))
        }
        #[cfg(feature = "aws")]
        IdentityChoice::Cognito {
            user_pool_id: Some(user_pool_id),
            client_id: Some(client_id),
            client_secret,
            region,
            endpoint,
        } => {
            let settings = crate::identity::CognitoSettings {
                user_pool_id,
                client_id,
                client_secret,
                region,
                endpoint,
            };
            crate::identity::CognitoIdentity::connect(settings)
                .await
                .map(|c| Arc::new(c) as Arc<dyn UserDirectory>)
                .map_err(|e| e.to_string())
        }
        #[cfg(feature = "aws")]
        IdentityChoice::Cognito { .. } => Err(
            "user administration on Cognito needs --cognito-user-pool-id and --cognito-client-id"
                .into(),
        ),
        #[cfg(not(feature = "aws"))]
        IdentityChoice::Cognito { .. } => Err(
            "this boxpilot was built without Cognito support: build it with `--features aws`"
                .into(),
        ),
    }
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
            identity,
        } => {
            let (pw, print) = password(password_stdin)?;
            let users = directory(&data, &identity).await?;
            let user = users
                .add_user(&username, &pw, &groups)
                .await
                .map_err(|e| e.to_string())?;
            println!("added {} ({})", user.username, user.groups.join(","));
            if print {
                println!("password: {pw}");
            }
            if users.passwords_are_temporary() {
                println!(
                    "(temporary: {} chooses a new one at the first sign-in)",
                    user.username
                );
            }
        }
        UserCommand::Passwd {
            username,
            password_stdin,
            data,
            identity,
        } => {
            let (pw, print) = password(password_stdin)?;
            let users = directory(&data, &identity).await?;
            users
                .set_password(&username, &pw)
                .await
                .map_err(|e| e.to_string())?;
            println!("password of {username} changed");
            if print {
                println!("password: {pw}");
            }
            if users.passwords_are_temporary() {
                println!("(temporary: {username} chooses a new one at the next sign-in)");
            }
        }
        UserCommand::List { data, identity } => {
            for u in directory(&data, &identity)
                .await?
                .list_users()
                .await
                .map_err(|e| e.to_string())?
            {
                println!(
                    "{:<24} {:<8} {:<22} {}",
                    u.username,
                    if u.enabled { "enabled" } else { "disabled" },
                    u.status.as_deref().unwrap_or("-"),
                    u.groups.join(",")
                );
            }
        }
        UserCommand::Disable {
            username,
            data,
            identity,
        } => {
            directory(&data, &identity)
                .await?
                .set_enabled(&username, false)
                .await
                .map_err(|e| e.to_string())?;
            println!("{username} disabled");
        }
        UserCommand::Enable {
            username,
            data,
            identity,
        } => {
            directory(&data, &identity)
                .await?
                .set_enabled(&username, true)
                .await
                .map_err(|e| e.to_string())?;
            println!("{username} enabled");
        }
        UserCommand::SetGroups {
            username,
            groups,
            data,
            identity,
        } => {
            let user = directory(&data, &identity)
                .await?
                .set_groups(&username, &groups)
                .await
                .map_err(|e| e.to_string())?;
            println!("{}: {}", user.username, user.groups.join(","));
        }
    }
    Ok(())
}
