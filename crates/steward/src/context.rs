//! Where Steward keeps its state: data directory, database URL and master key, resolved
//! from flags and `STEWARD_*` environment variables.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use steward_store::{MasterKey, Store};

use crate::cli::Global;

/// The resolved locations.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub master_key_file: PathBuf,
}

impl Paths {
    pub fn resolve(global: &Global) -> anyhow::Result<Paths> {
        let data_dir = match &global.data_dir {
            Some(d) => d.clone(),
            None => default_data_dir()?,
        };
        let database_url = match &global.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", data_dir.join("steward.db").display()),
        };
        let master_key_file = global
            .master_key_file
            .clone()
            .unwrap_or_else(|| data_dir.join("master.key"));
        Ok(Paths {
            data_dir,
            database_url,
            master_key_file,
        })
    }

    pub fn with_data_dir(data_dir: &Path) -> Paths {
        Paths {
            data_dir: data_dir.to_path_buf(),
            database_url: format!("sqlite://{}", data_dir.join("steward.db").display()),
            master_key_file: data_dir.join("master.key"),
        }
    }

    /// Create the data directory (0700), load or create the master key, open and migrate.
    pub async fn open_store(&self) -> anyhow::Result<Store> {
        create_private_dir(&self.data_dir)?;
        let key = MasterKey::load_or_create(&self.master_key_file)?;
        let store = Store::open(&self.database_url, key)
            .await
            .with_context(|| format!("opening the database {}", redact_url(&self.database_url)))?;
        Ok(store)
    }
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("steward"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/steward")),
        None => bail!("no data directory: set --data-dir or STEWARD_DATA_DIR"),
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating the data directory {}", dir.display()))
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("REDACTED"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://steward:hunter2@127.0.0.1:5432/steward"),
            "postgres://steward:REDACTED@127.0.0.1:5432/steward"
        );
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
