//! Transport benchmarks, each against a baseline measured in the same run:
//!
//! 1. WebSocket RPC round trip on loopback (p50, p99): flame (a read-only action, and a
//!    state-changing one on the memory store) vs a raw tokio-tungstenite echo server.
//! 2. Broadcast to N connections, time until the last one has the event: flame's
//!    `ctx.broadcast` vs a raw tokio-tungstenite server fanning one message out through a
//!    channel per connection.
//! 3. Memory per idle WebSocket connection (server RSS delta over N connections) vs the raw
//!    server, and per idle actor (RSS delta over N loaded actors) vs N bare tokio tasks with
//!    a mailbox each.
//!
//! Servers run in a child process (this binary, re-executed), so the client's sockets and
//! buffers do not count and each side gets its own file descriptors.
//!
//! ```text
//! cargo bench -p flame-actor --bench transport              # N = 10,000
//! FLAME_BENCH_N=2000 cargo bench -p flame-actor --bench transport
//! ```
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use flame_actor::stateful::{ActorError, ActorSystem, InitCtx, Rpc, StatefulActor, actions};
use flame_actor::store::MemoryStore;
use flame_actor::transport::{self, TransportConfig};
use flame_actor::{Actor, BackendActor};
use flame_core::Flame;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const CHILD_VAR: &str = "FLAME_BENCH_CHILD";

#[derive(Default)]
struct Bench;

impl StatefulActor for Bench {
    type State = i64;
    type ConnParams = ();
    type ConnState = ();
    async fn on_initialize(&self, _: &InitCtx) -> Result<i64, ActorError> {
        Ok(0)
    }
}

#[actions]
impl Bench {
    async fn get(&self, rpc: &mut Rpc<Self>) -> i64 {
        *rpc.state()
    }
    async fn add(&self, rpc: &mut Rpc<Self>, by: i64) -> i64 {
        *rpc.state_mut() += by;
        *rpc.state()
    }
    async fn shout(&self, rpc: &mut Rpc<Self>, text: String) -> usize {
        rpc.broadcast("tick", &text);
        rpc.connections().count()
    }
}

async fn flame_system() -> ActorSystem {
    ActorSystem::builder()
        .store(MemoryStore::new())
        .register_default::<Bench>("bench")
        .build()
        .await
        .unwrap()
}

/// Serves flame on `listener`.
async fn serve_flame(listener: TcpListener, system: ActorSystem) {
    let mut f = Flame::new();
    transport::mount(&mut f, system, TransportConfig::default());
    tokio::spawn(f.serve_with_shutdown(listener, std::future::pending()));
}

/// A raw tokio-tungstenite server: echoes text; `"broadcast:<text>"` sends `<text>` to every
/// connection. `small`: the same 4 KiB buffers as flame's transport (tungstenite's default is
/// 128 KiB each way).
async fn serve_raw(listener: TcpListener, small: bool) {
    let config = small.then(|| {
        tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .read_buffer_size(TransportConfig::DEFAULT_READ_BUFFER_SIZE)
            .write_buffer_size(TransportConfig::DEFAULT_WRITE_BUFFER_SIZE)
    });
    let peers: Arc<parking_lot::Mutex<Vec<mpsc::UnboundedSender<String>>>> = Arc::default();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let peers = peers.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, config).await
                else {
                    return;
                };
                let (tx, mut rx) = mpsc::unbounded_channel::<String>();
                peers.lock().push(tx);
                loop {
                    tokio::select! {
                        out = rx.recv() => match out {
                            Some(text) => if ws.send(Message::text(text)).await.is_err() { return },
                            None => return,
                        },
                        frame = ws.next() => match frame {
                            Some(Ok(Message::Text(text))) => {
                                if let Some(payload) = text.as_str().strip_prefix("broadcast:") {
                                    let message = json!({"v":1,"type":"event","event":"tick","payload":payload}).to_string();
                                    for peer in peers.lock().iter() {
                                        let _ = peer.send(message.clone());
                                    }
                                } else if ws.send(Message::Text(text)).await.is_err() {
                                    return;
                                }
                            }
                            Some(Ok(_)) => {}
                            _ => return,
                        },
                    }
                }
            });
        }
    });
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// The child: a server of `kind`, driven by lines on stdin.
fn child(kind: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let system = flame_system().await;
        match kind {
            "flame" => serve_flame(listener, system.clone()).await,
            "raw-small" => serve_raw(listener, true).await,
            _ => serve_raw(listener, false).await,
        }
        println!("port {port}");
        let mut lines = BufReader::new(std::io::stdin()).lines();
        let mut tasks = Vec::new();
        while let Some(Ok(line)) = tokio::task::block_in_place(|| lines.next()) {
            let mut words = line.split_whitespace();
            match (
                words.next(),
                words.next().and_then(|n| n.parse::<usize>().ok()),
            ) {
                (Some("rss"), _) => println!("{}", rss_bytes()),
                (Some("actors"), Some(n)) => {
                    let caller: Arc<dyn Actor> = Arc::new(BackendActor::new("bench"));
                    for i in 0..n {
                        system
                            .call("bench", &format!("idle-{i}"), "get", vec![], caller.clone())
                            .await
                            .unwrap();
                    }
                    println!("loaded {}", system.loaded_count());
                }
                (Some("tasks"), Some(n)) => {
                    for _ in 0..n {
                        let (tx, mut rx) = mpsc::channel::<String>(1024);
                        tasks.push(tx);
                        tokio::spawn(async move { while rx.recv().await.is_some() {} });
                    }
                    tokio::task::yield_now().await;
                    println!("tasks {}", tasks.len());
                }
                _ => break,
            }
            std::io::stdout().flush().unwrap();
        }
    });
}

struct ChildServer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    port: u16,
}

impl ChildServer {
    fn start(kind: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(CHILD_VAR, kind)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("port ").unwrap().parse().unwrap();
        Self {
            child,
            stdin,
            stdout,
            port,
        }
    }

    fn ask(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim().to_owned()
    }

    fn rss(&mut self) -> u64 {
        self.ask("rss").parse().unwrap()
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect(url: &str) -> Ws {
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// Reads until a text message arrives.
async fn next_text(ws: &mut Ws) -> String {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
            Some(Ok(_)) => {}
            other => panic!("connection ended: {other:?}"),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Sequential round trips: `make(i)` is the text sent, one answer awaited each time.
async fn round_trips(
    ws: &mut Ws,
    n: usize,
    make: impl Fn(usize) -> String,
) -> (Duration, Duration) {
    for i in 0..n / 10 {
        ws.send(Message::text(make(i))).await.unwrap();
        next_text(ws).await;
    }
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let text = make(i);
        let start = Instant::now();
        ws.send(Message::text(text)).await.unwrap();
        next_text(ws).await;
        times.push(start.elapsed());
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

async fn rpc_latency(n: usize) {
    println!(
        "\n## WebSocket RPC round trip on loopback ({n} sequential calls, after {} warm-up)",
        n / 10
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let raw_addr = listener.local_addr().unwrap();
    serve_raw(listener, false).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let flame_addr = listener.local_addr().unwrap();
    let system = flame_system().await;
    serve_flame(listener, system.clone()).await;

    let rpc = |method: &'static str, args: serde_json::Value| {
        move |i: usize| json!({"v":1,"type":"rpc","id":i,"method":method,"args":args}).to_string()
    };
    let mut raw = connect(&format!("ws://{raw_addr}/")).await;
    let (raw50, raw99) = round_trips(&mut raw, n, rpc("get", json!([]))).await;
    let mut ws = connect(&format!("ws://{flame_addr}/actors/bench/rt")).await;
    next_text(&mut ws).await; // init
    let (get50, get99) = round_trips(&mut ws, n, rpc("get", json!([]))).await;
    let (add50, add99) = round_trips(&mut ws, n, rpc("add", json!([1]))).await;
    println!("| case | p50 | p99 | p50 ratio |");
    println!("|---|---|---|---|");
    println!(
        "| raw tokio-tungstenite echo (baseline) | {} | {} | 1.00x |",
        us(raw50),
        us(raw99)
    );
    let ratio = |d: Duration| d.as_secs_f64() / raw50.as_secs_f64();
    println!(
        "| flame, read-only action `get` | {} | {} | {:.2}x |",
        us(get50),
        us(get99),
        ratio(get50)
    );
    println!(
        "| flame, state-changing `add` (memory store commit) | {} | {} | {:.2}x |",
        us(add50),
        us(add99),
        ratio(add50)
    );
    system.shutdown().await;
}

/// Opens `n` connections to `url`, each in a task that counts down `left` when its first
/// `tick` event arrives; returns once all are connected.
async fn open_listeners(
    url: &str,
    n: usize,
    skip_init: bool,
    left: Arc<AtomicUsize>,
    done: Arc<Notify>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles = Vec::with_capacity(n);
    let ready = Arc::new(AtomicUsize::new(0));
    let ready_notify = Arc::new(Notify::new());
    for chunk in 0..n.div_ceil(200) {
        let mut batch = Vec::new();
        for _ in 0..200.min(n - chunk * 200) {
            let url = url.to_owned();
            let (left, done, ready, ready_notify) = (
                left.clone(),
                done.clone(),
                ready.clone(),
                ready_notify.clone(),
            );
            batch.push(tokio::spawn(async move {
                let mut ws = connect(&url).await;
                if skip_init {
                    next_text(&mut ws).await;
                    ws.send(Message::text(
                        r#"{"v":1,"type":"subscribe","event":"tick"}"#,
                    ))
                    .await
                    .unwrap();
                }
                ready.fetch_add(1, Ordering::SeqCst);
                ready_notify.notify_one();
                loop {
                    let text = next_text(&mut ws).await;
                    if text.contains("\"tick\"") && left.fetch_sub(1, Ordering::SeqCst) == 1 {
                        done.notify_one();
                    }
                }
            }));
        }
        while ready.load(Ordering::SeqCst) < (chunk * 200 + batch.len()).min(n) {
            ready_notify.notified().await;
        }
        handles.extend(batch);
    }
    handles
}

async fn broadcast(n: usize, rounds: usize) {
    println!(
        "\n## Broadcast to {n} connections: from the call until the last connection has the event (median of {rounds})"
    );
    let mut results = Vec::new();
    for kind in ["raw", "flame"] {
        let server = ChildServer::start(kind);
        let base = format!("ws://127.0.0.1:{}", server.port);
        let url = if kind == "flame" {
            format!("{base}/actors/bench/room")
        } else {
            format!("{base}/")
        };
        let left = Arc::new(AtomicUsize::new(n));
        let done = Arc::new(Notify::new());
        let handles = open_listeners(&url, n, kind == "flame", left.clone(), done.clone()).await;
        let mut trigger = connect(&url).await;
        if kind == "flame" {
            next_text(&mut trigger).await;
            // the subscribes of the listeners were sent before they counted as ready; a
            // round trip on the actor makes sure they were handled
            let count = json!({"v":1,"type":"rpc","id":0,"method":"get","args":[]}).to_string();
            trigger.send(Message::text(count)).await.unwrap();
            next_text(&mut trigger).await;
        }
        let mut times = Vec::new();
        for round in 0..rounds {
            left.store(n, Ordering::SeqCst);
            let text = if kind == "flame" {
                json!({"v":1,"type":"rpc","id":round + 1,"method":"shout","args":["hello"]})
                    .to_string()
            } else {
                String::from("broadcast:hello")
            };
            let start = Instant::now();
            let notified = done.notified();
            trigger.send(Message::text(text)).await.unwrap();
            notified.await;
            times.push(start.elapsed());
            if kind == "flame" {
                next_text(&mut trigger).await; // the rpc_ok
            }
        }
        times.sort();
        results.push((kind, times[times.len() / 2]));
        for h in handles {
            h.abort();
        }
        drop(server);
    }
    let base = results[0].1;
    println!("| server | time until the last has it | ratio |");
    println!("|---|---|---|");
    for (kind, t) in results {
        let name = if kind == "raw" {
            "raw tokio-tungstenite fan-out (baseline)"
        } else {
            "flame `ctx.broadcast`"
        };
        println!(
            "| {name} | {:.2} ms | {:.2}x |",
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() / base.as_secs_f64()
        );
    }
}

async fn memory(n: usize) {
    println!("\n## Memory, server RSS delta over {n} idle items (/proc/self/statm)");
    let mut per_conn = Vec::new();
    for kind in ["raw", "raw-small", "flame"] {
        let mut server = ChildServer::start(kind);
        let base = format!("ws://127.0.0.1:{}", server.port);
        let url = if kind == "flame" {
            format!("{base}/actors/bench/mem")
        } else {
            format!("{base}/")
        };
        // one connection first, so the actor and the runtime are warm
        let mut warm = connect(&url).await;
        if kind == "flame" {
            next_text(&mut warm).await;
        }
        let before = server.rss();
        let left = Arc::new(AtomicUsize::new(usize::MAX));
        let handles = open_listeners(&url, n, kind == "flame", left, Arc::new(Notify::new())).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = server.rss();
        per_conn.push((kind, after.saturating_sub(before) as f64 / n as f64));
        for h in handles {
            h.abort();
        }
        if kind == "flame" {
            // idle actors, in the same (flame) child, vs bare tasks with a mailbox
            let before = server.rss();
            let reply = server.ask(&format!("actors {n}"));
            let after = server.rss();
            let actor = after.saturating_sub(before) as f64 / n as f64;
            let before = server.rss();
            server.ask(&format!("tasks {n}"));
            let after = server.rss();
            let task = after.saturating_sub(before) as f64 / n as f64;
            println!(
                "| idle actor ({reply}) | {:.2} KiB | {:.2}x of a bare task + mailbox ({:.2} KiB) |",
                actor / 1024.0,
                actor / task,
                task / 1024.0
            );
        }
        drop(server);
    }
    let base = per_conn[0].1;
    for (kind, bytes) in per_conn {
        let name = match kind {
            "raw" => "idle connection, raw tokio-tungstenite, default buffers (baseline)",
            "raw-small" => "idle connection, raw tokio-tungstenite, flame's 4 KiB buffers",
            _ => "idle connection, flame (subscribed)",
        };
        println!(
            "| {name} | {:.2} KiB | {:.2}x |",
            bytes / 1024.0,
            bytes / base
        );
    }
}

fn main() {
    if let Ok(kind) = std::env::var(CHILD_VAR) {
        child(&kind);
        return;
    }
    // `cargo test --benches` runs bench binaries with `--test`-like flags: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("transport benchmarks: run with `cargo bench -p flame-actor --bench transport`");
        return;
    }
    let n: usize = std::env::var("FLAME_BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        rpc_latency(20_000).await;
        broadcast(n, 5).await;
        memory(n).await;
    });
}
