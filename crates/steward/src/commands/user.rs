//! `steward user add|passwd|remove|list`: the accounts that may log in to `steward serve`.
//! Passwords come from an environment variable or a TTY prompt, never from the command line.

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use steward_server::auth::{self, AuthError};
use steward_store::StoreError;

use crate::cli::{Global, JsonFlag};
use crate::commands::UsageError;
use crate::context::Paths;
use crate::exit;
use crate::output::{print_json, table};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user who can log in to the server.
    Add(AddArgs),
    /// Set a new password (ends the user's sessions).
    Passwd(PasswdArgs),
    /// Remove a user (ends their sessions).
    Remove(NameArg),
    /// List users and their roles.
    List(JsonFlag),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Role {
    Admin,
    Viewer,
    Reviewer,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Admin => auth::ROLE_ADMIN,
            Role::Viewer => auth::ROLE_VIEWER,
            Role::Reviewer => auth::ROLE_REVIEWER,
        }
    }
}

#[derive(Debug, Args)]
pub struct AddArgs {
    pub name: String,
    /// admin: everything; viewer: read-only, no deletions, no integration changes; reviewer:
    /// only their own access-review queue (the user name must be the reviewer's email).
    #[arg(long, value_enum)]
    pub role: Role,
    /// Read the password from this environment variable (default: prompt on the TTY).
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
}

#[derive(Debug, Args)]
pub struct PasswdArgs {
    pub name: String,
    /// Read the password from this environment variable (default: prompt on the TTY).
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
}

#[derive(Debug, Args)]
pub struct NameArg {
    pub name: String,
}

fn read_password(env: Option<&str>) -> anyhow::Result<String> {
    if let Some(var) = env {
        return std::env::var(var).map_err(|_| {
            UsageError(format!("--password-env {var}: the variable is not set")).into()
        });
    }
    let first = rpassword::prompt_password("Password: ")
        .context("reading the password (no TTY? use --password-env VAR)")?;
    let second = rpassword::prompt_password("Again: ").context("reading the password")?;
    if first != second {
        return Err(UsageError("the passwords differ; nothing was changed".into()).into());
    }
    Ok(first)
}

/// Bad input exits 2 with the message; other errors pass through.
fn usage(e: AuthError) -> anyhow::Error {
    match e {
        AuthError::BadRole(_) | AuthError::BadName(_) | AuthError::BadPassword(_) => {
            UsageError(e.to_string()).into()
        }
        AuthError::Store(StoreError::NotFound { what }) => UsageError(format!(
            "{what} not found; `steward user list` shows the users"
        ))
        .into(),
        AuthError::Store(s @ StoreError::NameTaken { .. }) => s.into(),
        other => other.into(),
    }
}

pub async fn run(global: &Global, cmd: UserCommand) -> anyhow::Result<u8> {
    let store = Paths::resolve(global)?.open_store().await?;
    let now = chrono::Utc::now();
    match cmd {
        UserCommand::Add(args) => {
            // Before the password prompt: a bad name should not cost typing a password twice.
            auth::validate_user_name_for_role(&args.name, args.role.as_str()).map_err(usage)?;
            let password = read_password(args.password_env.as_deref())?;
            let user = auth::create_user(&store, &args.name, args.role.as_str(), &password, now)
                .await
                .map_err(usage)?;
            eprintln!("Added user {:?} ({}).", user.name, user.role);
        }
        UserCommand::Passwd(args) => {
            let password = read_password(args.password_env.as_deref())?;
            auth::validate_password(&password).map_err(usage)?;
            let hash = auth::hash_password(&password).map_err(usage)?;
            store
                .set_password_hash(&args.name, &hash, now)
                .await
                .map_err(|e| usage(e.into()))?;
            eprintln!(
                "Password of {:?} changed; their sessions were ended.",
                args.name
            );
        }
        UserCommand::Remove(args) => {
            store
                .remove_user(&args.name)
                .await
                .map_err(|e| usage(e.into()))?;
            eprintln!("Removed user {:?}.", args.name);
        }
        UserCommand::List(flag) => {
            let users = store.users().await?;
            if flag.json {
                print_json(&json!(users))?;
            } else {
                let rows: Vec<Vec<String>> = users
                    .iter()
                    .map(|u| vec![u.name.clone(), u.role.clone(), u.created_at.to_rfc3339()])
                    .collect();
                print!("{}", table(&["NAME", "ROLE", "CREATED"], &rows));
            }
        }
    }
    store.close().await;
    Ok(exit::OK)
}
