//! Reading a token: from an environment variable, a file, or a hidden prompt on a TTY.
//! Never from the command line, where it would land in shell history and `ps`.

use std::io::IsTerminal;

use anyhow::Context as _;
use secrecy::SecretString;

use super::UsageError;
use crate::cli::TokenSource;

pub fn read(source: &TokenSource) -> anyhow::Result<SecretString> {
    let raw = if let Some(var) = &source.token_env {
        std::env::var(var).map_err(|_| {
            UsageError(format!(
                "--token-env: the environment variable {var} is not set"
            ))
        })?
    } else if let Some(path) = &source.token_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--token-file: cannot read {}", path.display()))?;
        text.lines().next().unwrap_or_default().to_string()
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password("API token (input hidden): ").context("reading the token")?
    } else {
        return Err(UsageError(
            "no token given: use --token-env VAR or --token-file FILE (or run on a terminal to be prompted)"
                .to_string(),
        )
        .into());
    };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(UsageError("the token is empty".to_string()).into());
    }
    Ok(SecretString::from(trimmed.to_string()))
}
