//! `steward serve`: the JSON API (and later the web UI) on the same store the CLI uses, plus
//! the scheduled-sync worker in the same process.
//!
//! First run: when the store has no users, `admin` is created with a generated password that
//! is printed once on stdout (and never stored in clear).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use steward_products::scheduler::{self, WorkerSettings};
use steward_products::{Clock, SystemClock};
use steward_server::{AppState, ServerConfig};

use crate::cli::Global;
use crate::commands::UsageError;
use crate::context::Paths;
use crate::exit;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "STEWARD_LISTEN")]
    pub listen: SocketAddr,
    /// The URL users reach Steward at (e.g. https://steward.example.com); https makes the
    /// session cookie Secure.
    #[arg(long, env = "STEWARD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Do not run due scheduled syncs in this process (run `steward worker` elsewhere).
    #[arg(long)]
    pub no_worker: bool,
}

pub async fn run(global: &Global, args: ServeArgs) -> anyhow::Result<u8> {
    let public_url = args
        .public_url
        .as_deref()
        .map(|u| {
            url::Url::parse(u)
                .ok()
                .filter(|p| matches!(p.scheme(), "http" | "https"))
                .ok_or_else(|| {
                    UsageError(format!(
                        "--public-url {u:?} is not an http(s) URL, e.g. https://steward.example.com"
                    ))
                })
        })
        .transpose()?;
    let store = Paths::resolve(global)?.open_store().await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if let Some(password) = steward_server::auth::ensure_first_admin(&store, clock.now()).await? {
        // stdout on purpose: it is the one thing this command prints there, so it can be captured.
        println!("First run: created user \"admin\" with password {password}");
        println!("It is shown only this once; change it with `steward user passwd admin`.");
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "Steward serving on {} ({}); Ctrl-C stops it.",
        public_url
            .as_ref()
            .map_or_else(|| format!("http://{addr}"), |u| u.to_string()),
        store.backend()
    );
    let config = ServerConfig {
        public_url,
        ..ServerConfig::default()
    };
    let state = AppState::new(store.clone(), Arc::clone(&clock), config);

    // The scheduled-sync worker shares the process; it stops when the server does.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = (!args.no_worker).then(|| {
        let mut stop = stop_rx;
        tokio::spawn(scheduler::run_worker(
            store.clone(),
            Arc::clone(&clock),
            WorkerSettings::default(),
            async move {
                let _ = stop.wait_for(|s| *s).await;
            },
        ))
    });
    steward_server::serve(listener, state, super::simulate::shutdown_signal())
        .await
        .context("serving HTTP")?;
    let _ = stop_tx.send(true);
    if let Some(w) = worker {
        let _ = w.await;
    }
    store.close().await;
    Ok(exit::OK)
}
