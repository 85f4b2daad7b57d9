//! Headless Chromium (Debian's `chromium`) driven over the DevTools protocol, for the tests
//! of the example pages.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// Only there so a broken test fails instead of hanging.
const HANG: Duration = Duration::from_secs(60);

async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG, future).await.expect("no hang")
}

/// The browser, or `None` outside CI when it is not installed (CI must have it: `.ci/run`
/// installs it, and the test fails there without it).
pub fn chromium_or_skip() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser tests: .ci/run installs chromium"
        );
        println!("SKIPPED: no chromium at /usr/bin/chromium (.ci/run installs it)");
    }
    found
}

fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

pub struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    devtools: String,
}

impl Browser {
    pub fn start(binary: &Path, url: &str) -> Self {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut devtools = None;
        for line in BufReader::new(stderr).lines() {
            let line = line.expect("stderr line");
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                devtools = Some(url.trim().to_owned());
                break;
            }
        }
        let devtools = devtools.expect("chromium printed its DevTools address");
        Self {
            child,
            _profile: profile,
            devtools,
        }
    }

    /// The DevTools WebSocket of the page showing `url`.
    pub async fn page(&self, url: &str) -> Page {
        // ws://127.0.0.1:PORT/devtools/browser/<id>
        let http = self
            .devtools
            .replace("ws://", "http://")
            .split("/devtools/")
            .next()
            .expect("host")
            .to_owned();
        for _ in 0..600 {
            let targets: Vec<Value> = reqwest::get(format!("{http}/json/list"))
                .await
                .expect("json/list")
                .json()
                .await
                .expect("targets");
            let page = targets.iter().find(|t| {
                t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.starts_with(url))
            });
            if let Some(ws) = page.and_then(|t| t["webSocketDebuggerUrl"].as_str()) {
                let (socket, _) = tokio_tungstenite::connect_async(ws)
                    .await
                    .expect("devtools");
                return Page { socket, next_id: 1 };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no page for {url}");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Page {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
}

impl Page {
    /// `Runtime.evaluate`, returning the value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let request = json!({
            "id": id,
            "method": "Runtime.evaluate",
            "params": {"expression": expression, "returnByValue": true, "awaitPromise": true},
        });
        self.socket
            .send(Message::text(request.to_string()))
            .await
            .expect("send");
        loop {
            let frame = within(self.socket.next())
                .await
                .expect("open")
                .expect("frame");
            let Message::Text(text) = frame else { continue };
            let reply: Value = serde_json::from_str(text.as_str()).expect("json");
            if reply["id"] == id {
                assert!(reply.get("error").is_none(), "{reply}");
                return reply["result"]["result"]["value"].clone();
            }
        }
    }

    /// Evaluates `expression` until it gives `want` (bounded).
    pub async fn wait_for(&mut self, expression: &str, want: &Value) {
        let mut last = Value::Null;
        for _ in 0..600 {
            last = self.eval(expression).await;
            if &last == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{expression} stayed {last}, wanted {want}");
    }
}
