//! Command-line definitions (clap). Doc comments here are the `--help` text.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "steward",
    version,
    about = "Steward: one identity graph of who has access to what, from your Okta (and more)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Directory for the SQLite database and the master key (default: $XDG_DATA_HOME/steward or ~/.local/share/steward).
    #[arg(long, global = true, env = "STEWARD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST:PORT/DB (default: SQLite in the data directory).
    #[arg(
        long,
        global = true,
        env = "STEWARD_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Master key file that seals credentials (default: DATA_DIR/master.key, created mode 0600).
    #[arg(long, global = true, env = "STEWARD_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Log format on stderr (level from RUST_LOG, default warn).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect, test, list, show and remove integrations.
    #[command(subcommand)]
    Integration(IntegrationCommand),
    /// Sync one integration now: stage everything, publish atomically.
    Sync(SyncArgs),
    /// Every integration with its last test, last sync and snapshot counts.
    Status(JsonFlag),
    /// The data inventory: every app the org uses, staged for triage (accept or ignore).
    #[command(subcommand)]
    Inventory(crate::commands::inventory::InventoryCommand),
    /// Privacy requests by email: access (export) and deletion, live across every integration.
    #[command(subcommand)]
    Request(crate::commands::request::RequestCommand),
    /// The evidence register: MFA policy summary and admin access review at every sync.
    #[command(subcommand)]
    Evidence(crate::commands::evidence::EvidenceCommand),
    /// Identity-security findings computed at every sync (admins without MFA, leavers with access, ...).
    Findings(crate::commands::findings::FindingsArgs),
    /// Access reviews: campaigns of cases (who has what) decided keep or revoke by reviewers.
    #[command(subcommand)]
    Review(crate::commands::review::ReviewCommand),
    /// Run the whole job against the built-in Okta simulator on a fresh SQLite store.
    Demo(DemoArgs),
    /// Run a simulator of a source system on loopback.
    #[command(subcommand)]
    Simulate(SimulateCommand),
    /// Sync schedules (hourly, daily, weekly, manual, 30m) and recent sync jobs.
    #[command(subcommand)]
    Schedule(crate::commands::schedule::ScheduleCommand),
    /// Run due scheduled and manual sync jobs in the foreground until Ctrl-C (several workers may share one PostgreSQL).
    Worker(crate::commands::schedule::WorkerArgs),
    /// Serve the JSON API (and the scheduled-sync worker); first run creates user `admin`.
    Serve(crate::commands::serve::ServeArgs),
    /// Users who can log in to the server: add, passwd, remove, list.
    #[command(subcommand)]
    User(crate::commands::user::UserCommand),
    /// One identity graph across integrations: orphans, leavers, licence seats, one person everywhere.
    #[command(subcommand)]
    People(crate::commands::people::PeopleCommand),
}

#[derive(Debug, Args, Clone, Copy)]
pub struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum IntegrationCommand {
    /// Add an integration. The token is read from an environment variable, a file, or a
    /// prompt on a TTY: never from the command line.
    #[command(subcommand)]
    Add(AddKind),
    /// Check what the stored token can read, capability by capability.
    Test(NameJson),
    /// List integrations.
    List(JsonFlag),
    /// Show one integration: domain, capabilities, last test, sync history.
    Show(NameJson),
    /// Remove an integration and everything synced from it.
    Remove(RemoveArgs),
    /// Replace the stored token (tokens are never shown back).
    SetToken(SetTokenArgs),
}

#[derive(Debug, Subcommand)]
pub enum AddKind {
    /// Add an Okta org (API token of a READ_ONLY_ADMIN is enough).
    Okta(AddOktaArgs),
    /// Add a OneTrust tenant (API key with the ORGANIZATION and SCIM scopes, plus USER for usage; or client credentials).
    Onetrust(AddOnetrustArgs),
}

#[derive(Debug, Args)]
pub struct AddOnetrustArgs {
    /// A name for this integration, e.g. onetrust.
    #[arg(long)]
    pub name: String,
    /// The OneTrust URL, e.g. https://acme.my.onetrust.com or https://app-eu.onetrust.com.
    #[arg(long)]
    pub domain: String,
    /// Accept a host outside *.onetrust.com (a tenant served under its own name).
    #[arg(long)]
    pub custom_domain: bool,
    /// Allow plain http to a loopback address (the simulator).
    #[arg(long)]
    pub allow_insecure_loopback: bool,
    /// The API key (Global Settings → Access Management → Client Credentials → API Keys).
    #[command(flatten)]
    pub token: TokenSource,
    /// OAuth client id (client credentials instead of an API key); needs --client-secret-env.
    #[arg(long, value_name = "ID", conflicts_with_all = ["token_env", "token_file"])]
    pub client_id: Option<String>,
    /// Read the OAuth client secret from this environment variable.
    #[arg(long, value_name = "VAR", requires = "client_id")]
    pub client_secret_env: Option<String>,
    /// Also sync per-user audit activities (one request per user: slow on large tenants).
    #[arg(long)]
    pub audit_activities: bool,
    /// Save without running the connection test.
    #[arg(long)]
    pub no_test: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TokenSource {
    /// Read the API token from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "token_file")]
    pub token_env: Option<String>,
    /// Read the API token from this file (first line).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AddOktaArgs {
    /// A name for this integration, e.g. okta-prod.
    #[arg(long)]
    pub name: String,
    /// The Okta org URL, e.g. https://acme.okta.com.
    #[arg(long)]
    pub domain: String,
    /// Accept a custom domain (not under okta.com, oktapreview.com, okta-emea.com, okta-gov.com, okta.mil).
    #[arg(long)]
    pub custom_domain: bool,
    /// Allow plain http to a loopback address (the simulator).
    #[arg(long)]
    pub allow_insecure_loopback: bool,
    #[command(flatten)]
    pub token: TokenSource,
    /// Save without running the connection test.
    #[arg(long)]
    pub no_test: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct NameJson {
    /// Integration name.
    pub name: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Integration name.
    pub name: String,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct SetTokenArgs {
    /// Integration name.
    pub name: String,
    #[command(flatten)]
    pub token: TokenSource,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Integration name.
    pub name: String,
    /// Most requests in flight at once across all rate-limit buckets.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=75))]
    pub max_in_flight: u16,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Users in the simulated org.
    #[arg(long, default_value_t = 500)]
    pub users: usize,
    /// Seed of the simulated org.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Admin role of the demo token.
    #[arg(long, value_enum, default_value_t = DemoRole::ReadOnlyAdmin)]
    pub role: DemoRole,
    /// Multiply the simulator's rate-limit quotas (1 = Okta's workforce defaults).
    #[arg(long, default_value_t = 10.0)]
    pub rate_scale: f64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// After the sync, serve the API against the simulator until Ctrl-C (prints URL and login).
    #[arg(long)]
    pub serve: bool,
    /// Address for `--serve`.
    #[arg(long, default_value = "127.0.0.1:8080", requires = "serve")]
    pub listen: SocketAddr,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DemoRole {
    SuperAdmin,
    OrgAdmin,
    AppAdmin,
    ReadOnlyAdmin,
}

impl DemoRole {
    pub fn as_str(self) -> &'static str {
        match self {
            DemoRole::SuperAdmin => "SUPER_ADMIN",
            DemoRole::OrgAdmin => "ORG_ADMIN",
            DemoRole::AppAdmin => "APP_ADMIN",
            DemoRole::ReadOnlyAdmin => "READ_ONLY_ADMIN",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum SimulateCommand {
    /// A seeded, faithful Okta Management API. Prints one JSON line (base URL, tokens, counts), then serves until SIGINT/SIGTERM.
    Okta(SimulateOktaArgs),
    /// A seeded OneTrust tenant (SCIM v2/v3, Access Management, audit, OAuth) whose people overlap `simulate okta`'s for the same --users/--seed/--now. Prints one JSON line (base URL, keys per scope set, client credentials, counts), then serves until SIGINT/SIGTERM.
    Onetrust(SimulateOnetrustArgs),
}

#[derive(Debug, Args)]
pub struct SimulateOnetrustArgs {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Okta people the tenant overlaps (use the Okta simulator's --users).
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Seed (use the Okta simulator's --seed for overlapping people).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The tenant's "now" (RFC 3339); default: today, 00:00 UTC.
    #[arg(long)]
    pub now: Option<String>,
    /// Rate limits: default (1,000 requests per minute per endpoint, 200,000 per hour) or none.
    #[arg(long, default_value = "default")]
    pub rate_limits: String,
    /// Faults, e.g. 'http500=0.02,reset=0.01,slow=0.05:2s,truncate=0.01,bad_json=0.005'.
    #[arg(long, default_value = "")]
    pub faults: String,
}

#[derive(Debug, Args)]
pub struct SimulateOktaArgs {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Users in the org.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Seed: the same seed (and --now) gives the same org, byte for byte.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Org profile (selects the default rate limits): workforce, enterprise or free.
    #[arg(long, default_value = "workforce")]
    pub profile: String,
    /// Rate limits: default, none, or a TOML file of bucket quotas.
    #[arg(long, default_value = "default")]
    pub rate_limits: String,
    /// Multiply every rate-limit quota.
    #[arg(long, default_value_t = 1.0)]
    pub rate_scale: f64,
    /// Faults, e.g. 'http500=0.02,reset=0.01,slow=0.05:2s,truncate=0.01,bad_json=0.005'.
    #[arg(long, default_value = "")]
    pub faults: String,
    /// Answer /api/v1/iam/assignees/users with 404, like orgs older than 2023.05.
    #[arg(long)]
    pub legacy_org: bool,
    /// The org's "now" (RFC 3339); default: today, 00:00 UTC.
    #[arg(long)]
    pub now: Option<String>,
    /// Groups (default: derived from --users).
    #[arg(long)]
    pub groups: Option<usize>,
    /// Apps (default: derived from --users).
    #[arg(long)]
    pub apps: Option<usize>,
    /// App user assignments (default: derived from --users).
    #[arg(long)]
    pub app_assignments: Option<usize>,
}
