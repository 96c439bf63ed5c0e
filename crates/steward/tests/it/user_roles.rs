//! `steward user add --role reviewer`: a reviewer's user name must be their email (the name
//! their access-review cases carry), and a wrong one is a usage error that says so.

use crate::common::{Env, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewer_users_need_an_email_name_and_list_with_their_role() {
    let env = Env::new().await;
    let pw = [("PW", "a-long-password-1")];
    // No password is read for a bad name: the variable is not even set here.
    let bad = env.run(
        &[
            "user",
            "add",
            "bob",
            "--role",
            "reviewer",
            "--password-env",
            "NOPE",
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    let err = String::from_utf8_lossy(&bad.stderr).to_string();
    assert!(err.contains("user name: \"bob\" is not an email"), "{err}");
    assert!(
        err.contains("steward user add alice@acme.example --role reviewer"),
        "{err}"
    );
    let bad = env.run(
        &[
            "user",
            "add",
            "carol@localhost",
            "--role",
            "reviewer",
            "--password-env",
            "PW",
        ],
        &pw,
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("\"carol@localhost\" is not an email"),
        "{}",
        text(&bad)
    );
    // The same name is fine for the other roles, and an email is fine for a reviewer.
    let out = env.run(
        &[
            "user",
            "add",
            "bob",
            "--role",
            "viewer",
            "--password-env",
            "PW",
        ],
        &pw,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = env.run(
        &[
            "user",
            "add",
            "alice@acme.example",
            "--role",
            "reviewer",
            "--password-env",
            "PW",
        ],
        &pw,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("Added user \"alice@acme.example\" (reviewer)."),
        "{}",
        text(&out)
    );
    let list = env.json(&["user", "list", "--json"]);
    let roles: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap().to_string(),
                u["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        vec![
            ("alice@acme.example".to_string(), "reviewer".to_string()),
            ("bob".to_string(), "viewer".to_string())
        ]
    );
    // An unknown role is clap's usage error, listing the three.
    let out = env.run(
        &[
            "user",
            "add",
            "dave",
            "--role",
            "auditor",
            "--password-env",
            "PW",
        ],
        &pw,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("admin, viewer, reviewer"),
        "{}",
        text(&out)
    );
}
