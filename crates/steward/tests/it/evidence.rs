//! `steward evidence` end to end: list, show, export, and `verify` catching rows edited,
//! deleted or reordered directly in the database.

use sqlx::Connection as _;

use crate::common::{Env, simulator, text};

/// Run SQL statements on the test's database, as an attacker with database access would.
pub(crate) async fn tamper(env: &Env, statements: &[&str]) -> Result<(), sqlx::Error> {
    if env.is_sqlite() {
        let mut conn = sqlx::SqliteConnection::connect(&env.database_url).await?;
        for s in statements {
            sqlx::query(sqlx::AssertSqlSafe(s.to_string()))
                .execute(&mut conn)
                .await?;
        }
        conn.close().await
    } else {
        let mut conn = sqlx::PgConnection::connect(&env.database_url).await?;
        for s in statements {
            sqlx::query(sqlx::AssertSqlSafe(s.to_string()))
                .execute(&mut conn)
                .await?;
        }
        conn.close().await
    }
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_show_verify_and_export() {
    let sim = simulator(120, 51, |_| {}).await;
    let env = Env::new().await;
    assert_eq!(env.add("okta", &sim, "SUPER_ADMIN").status.code(), Some(0));
    for _ in 0..2 {
        let out = env.run(&["sync", "okta"], &[]);
        assert!(out.status.success(), "{}", text(&out));
    }
    let list = env.json(&["evidence", "list", "--json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 4, "{list:?}");
    assert_eq!(list[0]["id"], "EV-1");
    assert_eq!(list[0]["kind"], "mfa_policy_summary");
    assert_eq!(list[1]["kind"], "admin_access_review");
    assert_eq!(list[1]["status"], "evidenced");

    let table = env.run(&["evidence", "list"], &[]);
    assert!(
        table.status.success() && stdout(&table).contains("admin_access_review"),
        "{}",
        text(&table)
    );

    let item = env.json(&["evidence", "show", "EV-2", "--json"]);
    assert!(
        item["summary"]["admin_count"].as_u64().unwrap() > 0,
        "{item:#}"
    );
    assert!(
        !item["sources"]["role_assignments"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let shown = env.run(&["evidence", "show", "ev-2"], &[]);
    assert!(shown.status.success(), "{}", text(&shown));
    assert!(
        stdout(&shown).contains("ISO 27001:2022 A.8.2"),
        "{}",
        text(&shown)
    );

    let verified = env.run(&["evidence", "verify"], &[]);
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    assert!(stdout(&verified).contains("intact"), "{}", text(&verified));

    let json = env.json(&["evidence", "export", "--format", "json"]);
    assert_eq!(json["verification"]["intact"], true);
    assert_eq!(json["items"].as_array().unwrap().len(), 4);
    let csv = env.run(&["evidence", "export", "--format", "csv"], &[]);
    assert!(csv.status.success(), "{}", text(&csv));
    assert_eq!(
        stdout(&csv).lines().count(),
        5,
        "header and four rows: {}",
        text(&csv)
    );
    let html_path = env.dir.path().join("evidence.html");
    let html = env.run(
        &[
            "evidence",
            "export",
            "--format",
            "html",
            "--out",
            html_path.to_str().unwrap(),
        ],
        &[],
    );
    assert!(html.status.success(), "{}", text(&html));
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("EV-4") && html.contains("intact")
    );
    // Raw source JSON is escaped, never pasted in as markup.
    assert!(
        html.contains("&quot;") && !html.contains("<script"),
        "unescaped values in the HTML"
    );
    // The register is append-only: removing the integration keeps its evidence, intact.
    let removed = env.run(&["integration", "remove", "okta", "--yes"], &[]);
    assert!(removed.status.success(), "{}", text(&removed));
    assert_eq!(
        env.json(&["evidence", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(env.run(&["evidence", "verify"], &[]).status.code(), Some(0));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_detects_edited_removed_and_reordered_rows() {
    let sim = simulator(100, 52, |_| {}).await;
    let cases: [(&str, &[&str], &str); 4] = [
        (
            "edited",
            &["UPDATE evidence_items SET summary = '{\"admin_count\":0}' WHERE seq = 2"],
            "EV-2",
        ),
        (
            "removed",
            &["DELETE FROM evidence_items WHERE seq = 2"],
            "EV-3",
        ),
        (
            "removed",
            &["DELETE FROM evidence_items WHERE seq = 4"],
            "position 3",
        ),
        (
            "reordered",
            &[
                "UPDATE evidence_items SET seq = -1 WHERE seq = 2",
                "UPDATE evidence_items SET seq = 2 WHERE seq = 3",
                "UPDATE evidence_items SET seq = 3 WHERE seq = -1",
            ],
            "EV-3",
        ),
    ];
    for (kind, statements, at) in cases {
        let env = Env::new().await;
        assert_eq!(env.add("okta", &sim, "SUPER_ADMIN").status.code(), Some(0));
        for _ in 0..2 {
            let out = env.run(&["sync", "okta"], &[]);
            assert!(out.status.success(), "{}", text(&out));
        }
        assert_eq!(env.run(&["evidence", "verify"], &[]).status.code(), Some(0));
        tamper(&env, statements).await.unwrap();
        let out = env.run(&["evidence", "verify", "--json"], &[]);
        assert_eq!(out.status.code(), Some(3), "{kind}: {}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["intact"], false);
        assert_eq!(v["broken"]["kind"], kind, "{statements:?}: {v:#}");
        let human = env.run(&["evidence", "verify"], &[]);
        assert_eq!(human.status.code(), Some(3));
        assert!(
            stdout(&human).contains(at),
            "{kind} should be reported at {at}: {}",
            text(&human)
        );
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_admin_review_is_not_evidenced_and_bad_input_exits_2() {
    let sim = simulator(90, 53, |_| {}).await;
    let env = Env::new().await;
    assert_eq!(
        env.add("okta", &sim, "READ_ONLY_ADMIN").status.code(),
        Some(0)
    );
    let out = env.run(&["sync", "okta"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let admin = env.json(&["evidence", "show", "EV-2", "--json"]);
    assert_eq!(admin["kind"], "admin_access_review");
    assert_eq!(admin["status"], "not_evidenced", "{admin:#}");
    assert!(
        admin["reason"].as_str().unwrap().contains("403"),
        "{admin:#}"
    );
    assert!(admin["summary"].get("admins").is_none(), "{admin:#}");
    let shown = env.run(&["evidence", "show", "EV-2"], &[]);
    assert!(
        stdout(&shown).contains("Not evidenced: admin role assignments could not be read"),
        "{}",
        text(&shown)
    );
    let list = env.run(&["evidence", "list"], &[]);
    assert!(stdout(&list).contains("not evidenced"), "{}", text(&list));

    for (args, needle) in [
        (&["evidence", "show", "EV-99"][..], "EV-99 not found"),
        (
            &["evidence", "show", "nonsense"][..],
            "steward evidence list",
        ),
        (&["evidence", "export", "--format", "xml"][..], "--format"),
    ] {
        let out = env.run(args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out)
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out));
    }
    sim.shutdown().await;
}
