//! `steward user` and `steward serve`: user management exit codes, and the first-run admin
//! whose generated password (printed once) logs in to the API.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;

use serde_json::json;

use crate::common::{Env, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_commands_add_list_passwd_remove_with_usage_errors() {
    let env = Env::new().await;
    let pw = [("PW", "a-long-password-1")];
    let out = env.run(
        &[
            "user",
            "add",
            "carol",
            "--role",
            "viewer",
            "--password-env",
            "PW",
        ],
        &pw,
    );
    assert!(out.status.success(), "{}", text(&out));
    let list = env.json(&["user", "list", "--json"]);
    assert_eq!(list[0]["name"], "carol");
    assert_eq!(list[0]["role"], "viewer");
    assert!(
        !list.to_string().contains("argon2"),
        "hashes are never printed"
    );
    let dup = env.run(
        &[
            "user",
            "add",
            "carol",
            "--role",
            "admin",
            "--password-env",
            "PW",
        ],
        &pw,
    );
    assert_eq!(dup.status.code(), Some(2), "{}", text(&dup));
    let short = env.run(
        &[
            "user",
            "add",
            "dave",
            "--role",
            "admin",
            "--password-env",
            "PW",
        ],
        &[("PW", "short")],
    );
    assert_eq!(short.status.code(), Some(2), "{}", text(&short));
    let unset = env.run(
        &[
            "user",
            "add",
            "dave",
            "--role",
            "admin",
            "--password-env",
            "NOPE",
        ],
        &[],
    );
    assert_eq!(unset.status.code(), Some(2), "{}", text(&unset));
    let out = env.run(
        &["user", "passwd", "carol", "--password-env", "PW"],
        &[("PW", "another-long-password")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let missing = env.run(&["user", "remove", "nobody"], &[]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(env.run(&["user", "remove", "carol"], &[]).status.success());
    assert_eq!(env.json(&["user", "list", "--json"]), json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_creates_the_first_admin_once_and_its_password_logs_in() {
    let env = Env::new().await;
    let mut child = env
        .cmd()
        .args(["serve", "--listen", "127.0.0.1:0", "--no-worker"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let password = first.trim().rsplit(' ').next().unwrap().to_string();
    assert!(first.contains("created user \"admin\""), "{first}");
    let mut line = String::new();
    while !line.contains("serving on") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "serve exited");
    }
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
    // Users exist now: a second start prints no password.
    let out = env.run(&["user", "list", "--json"], &[]);
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["role"], "admin");
}
