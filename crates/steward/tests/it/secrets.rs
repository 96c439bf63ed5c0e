//! The API token never appears in logs (even at trace level), in any command's output, or
//! in clear in the database.

use crate::common::{Env, contains, read_all, simulator, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_leaks() {
    let sim = simulator(50, 21, |_| {}).await;
    let env = Env::new().await;
    let token = sim.token("SUPER_ADMIN");
    let trace = [("RUST_LOG", "trace"), ("OKTA_TOKEN", token.as_str())];
    let mut outputs = Vec::new();
    let add = env.run(
        &[
            "integration",
            "add",
            "okta",
            "--name",
            "okta",
            "--domain",
            &sim.base_url(),
            "--allow-insecure-loopback",
            "--token-env",
            "OKTA_TOKEN",
        ],
        &trace,
    );
    assert!(add.status.success(), "{}", text(&add));
    outputs.push(add);
    for args in [
        vec!["integration", "test", "okta"],
        vec!["integration", "test", "okta", "--json"],
        vec!["sync", "okta"],
        vec!["sync", "okta", "--json"],
        vec!["integration", "show", "okta"],
        vec!["integration", "show", "okta", "--json"],
        vec!["integration", "list", "--json"],
        vec!["status"],
        vec!["status", "--json"],
    ] {
        let out = env.run(&args, &[("RUST_LOG", "trace")]);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        outputs.push(out);
    }
    let mut total_log = 0;
    for out in &outputs {
        assert!(
            !contains(&out.stdout, &token),
            "token in stdout: {}",
            text(out)
        );
        assert!(!contains(&out.stderr, &token), "token in stderr (logs)");
        total_log += out.stderr.len();
    }
    assert!(
        total_log > 10_000,
        "trace logging produced almost nothing ({total_log} bytes): the test would prove little"
    );
    if env.is_sqlite() {
        let files = env.sqlite_files();
        assert!(!files.is_empty());
        let bytes = read_all(&files);
        assert!(bytes.len() > 10_000);
        assert!(
            !contains(&bytes, &token),
            "token in clear in the database file"
        );
    }
    sim.shutdown().await;
}
