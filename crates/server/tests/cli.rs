//! The command line's contract (DESIGN §5): `migrate` and `bootstrap --json` on a
//! fresh SQLite file. Building this test also builds the `switchboard` binary that
//! the black-box suite's process tests (SIGKILL, SIGTERM) start.

use std::process::Command;

fn switchboard(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .output()
        .expect("run switchboard")
}

#[test]
fn bootstrap_prints_ids_and_tokens_as_json_for_scripts() {
    let dir = std::env::temp_dir().join(format!("switchboard-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("cli.db").display());

    let migrated = switchboard(&["migrate", "--database-url", &url]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );

    let out = switchboard(&[
        "bootstrap",
        "--workspace",
        "Acme",
        "--admin-email",
        "admin@acme.test",
        "--channel",
        "web",
        "--json",
        "--database-url",
        &url,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    assert!(made["workspaceId"].as_i64().is_some_and(|id| id > 0));
    assert!(made["adminOperatorId"].as_i64().is_some_and(|id| id > 0));
    assert!(made["adminToken"].as_str().is_some_and(|t| t.starts_with("sbo_")));
    assert!(made["channelId"].as_i64().is_some_and(|id| id > 0));
    assert!(made["channelToken"].as_str().is_some_and(|t| t.starts_with("sbc_")));

    let bad = switchboard(&[
        "bootstrap",
        "--workspace",
        "X",
        "--admin-email",
        "not-an-email",
        "--database-url",
        &url,
    ]);
    assert!(!bad.status.success(), "an invalid e-mail is refused");
    std::fs::remove_dir_all(&dir).ok();
}
