//! The browser harness: chromedriver on a free loopback port driving headless Chromium
//! (fantoccini), the Okta simulator and the server in-process on a fresh store, and
//! screenshots under `target/screenshots/` (copied to `docs/screenshots/` with
//! `STEWARD_UPDATE_SCREENSHOTS=1`).
//!
//! chromedriver runs in its own process group, so dropping the harness kills it together
//! with the Chromium processes it started, even when a test panics half-way.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use steward_products::FixedClock;
use steward_server::{AppState, ServerConfig};
use steward_simulator::{RateLimitMode, RunningSimulator, SimConfig, Simulator};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "browser-admin-password";
pub const VIEWER_USER: &str = "viewer";
pub const VIEWER_PASSWORD: &str = "browser-viewer-password";
/// A reviewer signs in with the email their cases name.
pub const REVIEWER_USER: &str = "reviewer@example.com";
pub const REVIEWER_PASSWORD: &str = "browser-reviewer-password";

/// How long an element or a state may take to show up (page loads, htmx swaps).
pub const ELEMENT_TIMEOUT: Duration = Duration::from_secs(15);

/// The simulated org's "now"; the server's clock stands still there too.
pub fn sim_now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// The workspace root (two levels above this crate).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("target"),
    }
}

/// chromedriver in its own process group; the group is killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the Chromium processes it spawned.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn start_driver() -> Driver {
    for binary in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(binary).exists(),
            "{binary} is missing: run scripts/install-browser.sh (installs Debian chromium and chromium-driver)"
        );
    }
    let log_dir = target_dir().join("browser-logs");
    std::fs::create_dir_all(&log_dir).unwrap();
    // A port picked then released can be taken by someone else in between: retry.
    let mut last_error = String::new();
    for _attempt in 0..3 {
        let port = free_port();
        let log = std::fs::File::create(log_dir.join(format!("chromedriver-{port}.log"))).unwrap();
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().unwrap_or_else(|e| {
            panic!("starting {CHROMEDRIVER}: {e}; run scripts/install-browser.sh")
        });
        let mut driver = Driver { child, port };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = driver.child.try_wait() {
                last_error = format!("chromedriver exited with {status} (port {port})");
                break;
            }
            let ready = http
                .get(format!("http://127.0.0.1:{port}/status"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if let Some(r) = ready {
                let status: Value = r.json().await.unwrap_or(Value::Null);
                if status.pointer("/value/ready") == Some(&Value::Bool(true)) {
                    return driver;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if last_error.is_empty() {
            last_error = format!("chromedriver on port {port} did not answer /status within 20 s");
        }
        // `driver` drops here: its process group is killed before the next attempt.
    }
    panic!("{last_error}; see {}", log_dir.display());
}

async fn connect(driver: &Driver) -> Client {
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--no-first-run", "--no-default-browser-check",
                     "--disable-extensions", "--disable-background-networking", "--lang=en-US"],
        },
    });
    let caps = match caps {
        Value::Object(map) => map,
        _ => unreachable!(),
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .unwrap_or_else(|e| panic!("starting a Chromium session through chromedriver: {e}"))
}

/// Simulator + store + server + browser for one test.
pub struct Harness {
    pub base: String,
    pub sim: RunningSimulator,
    pub client: Client,
    prefix: u32,
    shots: u32,
    _driver: Driver,
    _dir: steward_store::testing::TempDirGuard,
}

impl Harness {
    /// `prefix` numbers this test's screenshots (`prefix + n`), so tests never clash.
    pub async fn start(users: usize, prefix: u32) -> Harness {
        let mut config = SimConfig::new(users, 7, sim_now());
        config.rate.mode = RateLimitMode::None;
        // A dozen apps: the staging area fits one page and the screenshots stay readable.
        config.apps = Some(12);
        let sim = Simulator::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let (store, dir) = steward_store::testing::test_store().await;
        steward_server::auth::create_user(&store, ADMIN_USER, "admin", ADMIN_PASSWORD, sim_now())
            .await
            .unwrap();
        steward_server::auth::create_user(
            &store,
            VIEWER_USER,
            "viewer",
            VIEWER_PASSWORD,
            sim_now(),
        )
        .await
        .unwrap();
        steward_server::auth::create_user(
            &store,
            REVIEWER_USER,
            "reviewer",
            REVIEWER_PASSWORD,
            sim_now(),
        )
        .await
        .unwrap();
        let server_config = ServerConfig {
            allow_insecure_loopback: true,
            ..ServerConfig::default()
        };
        let state = AppState::new(
            store.clone(),
            Arc::new(FixedClock(sim_now())),
            server_config,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(steward_server::serve(
            listener,
            state,
            std::future::pending(),
        ));
        let driver = start_driver().await;
        let client = connect(&driver).await;
        Harness {
            base,
            sim,
            client,
            prefix,
            shots: 0,
            _driver: driver,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&self.url(path))
            .await
            .unwrap_or_else(|e| panic!("goto {path}: {e}"));
    }

    /// Wait for an element matching `css` to exist.
    pub async fn wait(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(ELEMENT_TIMEOUT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let url = self
                    .client
                    .current_url()
                    .await
                    .map(|u| u.to_string())
                    .unwrap_or_default();
                let body = self.body_text().await;
                self.failure_shot(css).await;
                panic!(
                    "no element {css} on {url} after {ELEMENT_TIMEOUT:?}: {e}\n--- page text ---\n{body}"
                );
            }
        }
    }

    /// Wait until no element matches `css`.
    pub async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + ELEMENT_TIMEOUT;
        while Instant::now() < deadline {
            // An error here is a page still navigating: look again.
            if self
                .client
                .find_all(Locator::Css(css))
                .await
                .is_ok_and(|found| found.is_empty())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.failure_shot(css).await;
        panic!(
            "{css} is still on the page after {ELEMENT_TIMEOUT:?}\n{}",
            self.body_text().await
        );
    }

    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap()
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self.all(css).await.is_empty()
    }

    pub async fn click(&self, css: &str) {
        let e = self.wait(css).await;
        e.click()
            .await
            .unwrap_or_else(|err| panic!("click {css}: {err}"));
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let e = self.wait(css).await;
        e.clear()
            .await
            .unwrap_or_else(|err| panic!("clear {css}: {err}"));
        e.send_keys(value)
            .await
            .unwrap_or_else(|err| panic!("type into {css}: {err}"));
    }

    pub async fn body_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Log in through the login page.
    pub async fn login(&self, user: &str, password: &str) {
        self.goto("/").await;
        self.fill("#login-username", user).await;
        self.fill("#login-password", password).await;
        self.click("#login-submit").await;
        self.wait("#nav-integrations").await;
    }

    /// The session cookie's value, to fetch downloads outside the browser.
    pub async fn session_cookie(&self) -> String {
        let cookie = self
            .client
            .get_named_cookie(steward_server::auth::SESSION_COOKIE)
            .await
            .unwrap_or_else(|e| panic!("no session cookie: {e}"));
        cookie.value().to_string()
    }

    /// Screenshot the page as `target/screenshots/NN-name.png` (and into `docs/screenshots/`
    /// with `STEWARD_UPDATE_SCREENSHOTS=1`).
    pub async fn shot(&mut self, name: &str) {
        self.shots += 1;
        let file = format!("{:02}-{name}.png", self.prefix + self.shots);
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {file}: {e}"));
        let dir = target_dir().join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(&file), &png).unwrap();
        if std::env::var("STEWARD_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
            let docs = workspace_root().join("docs/screenshots");
            std::fs::create_dir_all(&docs).unwrap();
            // A renamed step leaves no stale picture behind under the same number.
            let number = format!("{:02}-", self.prefix + self.shots);
            for old in std::fs::read_dir(&docs).unwrap().flatten() {
                let old_name = old.file_name().to_string_lossy().into_owned();
                if old_name.starts_with(&number) && old_name != file {
                    std::fs::remove_file(old.path()).unwrap();
                }
            }
            std::fs::write(docs.join(&file), &png).unwrap();
        }
    }

    /// Scroll `css` to the top of the viewport (below the fixed header), then screenshot:
    /// for results that render below the fold.
    pub async fn shot_of(&mut self, name: &str, css: &str) {
        let e = self.wait(css).await;
        let arg = serde_json::to_value(&e).unwrap();
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -80);",
                vec![arg],
            )
            .await
            .unwrap_or_else(|err| panic!("scrolling to {css}: {err}"));
        self.shot(name).await;
    }

    /// A screenshot of the page a failed wait was on, for the CI logs.
    async fn failure_shot(&self, what: &str) {
        if let Ok(png) = self.client.screenshot().await {
            let dir = target_dir().join("screenshots");
            let _ = std::fs::create_dir_all(&dir);
            let name: String = what
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let _ = std::fs::write(dir.join(format!("failed-{}-{name}.png", self.prefix)), png);
        }
    }

    /// End the browser session (Chromium exits); chromedriver dies with the harness.
    pub async fn close(self) {
        let Harness {
            client,
            sim,
            _driver,
            _dir,
            ..
        } = self;
        let _ = client.close().await;
        sim.shutdown().await;
        drop(_driver);
        drop(_dir);
    }
}
