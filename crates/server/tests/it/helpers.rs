//! `spawn_app`: simulator + store + server, and logged-in clients for each role.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{Value, json};
use steward_products::Clock;
use steward_server::{AppState, ServerConfig};
use steward_simulator::{RateLimitMode, RunningSimulator, SimConfig, Simulator};
use steward_store::Store;

pub const ADMIN_PASSWORD: &str = "admin-password-123";
pub const VIEWER_PASSWORD: &str = "viewer-password-123";

/// A clock tests can move (rate-limit windows).
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn advance(&self, d: chrono::Duration) {
        let mut t = self.0.lock().unwrap();
        *t += d;
    }
}

impl TestClock {
    pub fn now_for_test(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// The simulated org's "now" (the System Log window covers what the simulator holds).
pub fn sim_now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub struct TestApp {
    pub base: String,
    pub store: Store,
    pub clock: Arc<TestClock>,
    pub sim: RunningSimulator,
    pub state: AppState,
    pub _dir: steward_store::testing::TempDirGuard,
}

/// A client with a cookie store and the session's CSRF token.
pub struct Session {
    pub client: Client,
    pub base: String,
    pub csrf: Option<String>,
}

impl Session {
    pub fn anonymous(base: &str) -> Session {
        let client = Client::builder().cookie_store(true).build().unwrap();
        Session {
            client,
            base: base.to_string(),
            csrf: None,
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let rb = self
            .client
            .request(method, format!("{}{}", self.base, path));
        match &self.csrf {
            Some(t) => rb.header("X-CSRF-Token", t),
            None => rb,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.request(Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn login(base: &str, user: &str, password: &str) -> Session {
        let mut s = Session::anonymous(base);
        let r = s
            .post(
                "/api/v1/auth/login",
                json!({"username": user, "password": password}),
            )
            .await;
        assert_eq!(r.status(), 200, "login {user}: {}", r.text().await.unwrap());
        let me: Value = r.json().await.unwrap();
        s.csrf = Some(me["csrf_token"].as_str().unwrap().to_string());
        s
    }
}

pub async fn spawn_app(users: usize) -> TestApp {
    let mut config = SimConfig::new(users, 7, sim_now());
    config.rate.mode = RateLimitMode::None;
    let sim = Simulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (store, dir) = steward_store::testing::test_store().await;
    let clock = Arc::new(TestClock(Mutex::new(sim_now())));
    steward_server::auth::create_user(&store, "alice", "admin", ADMIN_PASSWORD, sim_now())
        .await
        .unwrap();
    steward_server::auth::create_user(&store, "victor", "viewer", VIEWER_PASSWORD, sim_now())
        .await
        .unwrap();
    let server_config = ServerConfig {
        allow_insecure_loopback: true,
        ..ServerConfig::default()
    };
    let state = AppState::new(store.clone(), clock.clone(), server_config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(steward_server::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    TestApp {
        base,
        store,
        clock,
        sim,
        state,
        _dir: dir,
    }
}

impl TestApp {
    pub async fn admin(&self) -> Session {
        Session::login(&self.base, "alice", ADMIN_PASSWORD).await
    }

    pub async fn viewer(&self) -> Session {
        Session::login(&self.base, "victor", VIEWER_PASSWORD).await
    }

    /// Add the simulator as integration "okta" with the token of `role`.
    pub async fn add_okta(&self, admin: &Session, role: &str) {
        let r = admin
            .post(
                "/api/v1/integrations",
                json!({"kind": "okta", "name": "okta", "domain": self.sim.base_url(), "token": self.sim.token(role),
                       "options": {"allow_insecure_loopback": true}}),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }

    /// Start a sync and wait for it to end; returns the job.
    pub async fn sync(&self, admin: &Session) -> Value {
        let r = admin
            .post("/api/v1/integrations/okta/sync", json!({}))
            .await;
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
        let job: Value = r.json().await.unwrap();
        let id = job["id"].as_i64().unwrap();
        for _ in 0..600 {
            let job: Value = admin
                .get(&format!("/api/v1/sync-runs/{id}"))
                .await
                .json()
                .await
                .unwrap();
            if job["status"] != "running" {
                return job;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("sync {id} did not finish");
    }
}

/// Assert the error shape: status, code and field.
pub async fn assert_error(r: Response, status: u16, code: &str, field: Option<&str>) -> Value {
    let got = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    match field {
        Some(f) => assert_eq!(body["field"], f, "{body}"),
        None => assert!(body.get("field").is_some(), "field member missing: {body}"),
    }
    body
}
