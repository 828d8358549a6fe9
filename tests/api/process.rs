//! A `switchboard serve` child process, for what only a real process shows: SIGKILL
//! and SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct ServerProcess {
    pub child: Child,
    pub address: String,
}

/// The `switchboard` binary next to this test binary (`cargo test --workspace`
/// builds it).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target dir");
    let path = dir.join("switchboard");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p switchboard` or `cargo test --workspace`",
        path.display()
    );
    path
}

impl ServerProcess {
    pub fn start(database_url: &str) -> ServerProcess {
        let mut child = Command::new(binary())
            .args([
                "--log-format",
                "json",
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--database-url",
                database_url,
            ])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start switchboard");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent
                    && let Ok(value) = serde_json::from_str::<serde_json::Value>(&line)
                    && value["message"] == "switchboard listening"
                {
                    let _ = tx.send(value["address"].as_str().unwrap_or_default().to_owned());
                    sent = true;
                }
            }
        });
        let address = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server reports its address");
        ServerProcess {
            child,
            address: format!("http://{address}"),
        }
    }

    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait");
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        self.child.wait().expect("wait")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
