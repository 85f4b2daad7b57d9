//! Transport benchmarks, each against a baseline measured in the same run:
//!
//! 1. WebSocket RPC round trip on loopback (p50, p99): flame (a read-only action, and a
//!    state-changing one on the memory store) vs a raw tokio-tungstenite echo server; once
//!    on an idle machine and once with one CPU kept busy (on a VM, waking a halted vCPU
//!    costs tens of microseconds per message, and decides the idle figure).
//! 2. Broadcast to N connections, time from the trigger until the last one has the event:
//!    flame's `ctx.broadcast` vs a raw tokio-tungstenite server fanning one message out
//!    through a channel per connection. The N listeners connect and handshake with
//!    tokio-tungstenite, then their raw sockets are read by one OS thread with a `mio` event
//!    loop that parses the WebSocket frames in place (a lean load generator, the same for
//!    both servers), so the client's own overhead does not hide what the servers do. The
//!    time ends when that thread has parsed the last connection's `tick` frame. A third
//!    server shows the floor: it writes one pre-encoded frame to every raw socket from one
//!    thread per CPU, with nothing else per connection. Every server is measured twice: with
//!    the listeners ACKing each frame as they read it (Linux's default), and with their ACKs
//!    delayed past the round, since on loopback the listeners' ACKs are sent and received
//!    on the server's own CPUs (see [`Acks`]).
//! 3. Memory per idle WebSocket connection (server RSS delta over N connections) vs the raw
//!    server, and per idle actor (RSS delta over N loaded actors) vs N bare tokio tasks with
//!    a mailbox each.
//! 4. Hibernation: N actors with one idle WebSocket connection each, hibernated vs kept
//!    loaded (`ActorConfig::hibernation` off), server RSS per actor above the connection's
//!    own cost (from part 3); and the wake-up: an RPC to a hibernated actor vs the same RPC
//!    to it awake, p50/p99.
//!
//! Servers run in a child process (this binary, re-executed), so the client's sockets and
//! buffers do not count and each side gets its own file descriptors.
//!
//! ```text
//! cargo bench -p flame-stateful --bench transport              # N = 10,000
//! FLAME_BENCH_N=2000 cargo bench -p flame-stateful --bench transport
//! FLAME_BENCH_ONLY=broadcast cargo bench -p flame-stateful --bench transport   # rpc, broadcast, memory, hibernation
//! ```
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use flame_actor::websocket::WebSocketConfig;
use flame_actor::{Actor, BackendActor};
use flame_core::Flame;
use flame_stateful::store::MemoryStore;
use flame_stateful::transport::{self, TransportConfig};
use flame_stateful::{ActorError, ActorSystem, InitCtx, Rpc, StatefulActor, actions};
use futures_util::{SinkExt, StreamExt};
use mio::{Events, Interest, Poll, Token};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
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
    flame_system_with(flame_stateful::ActorConfig::default()).await
}

async fn flame_system_with(config: flame_stateful::ActorConfig) -> ActorSystem {
    ActorSystem::builder()
        .config(config)
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
            .read_buffer_size(WebSocketConfig::DEFAULT_READ_BUFFER_SIZE)
            .write_buffer_size(WebSocketConfig::DEFAULT_WRITE_BUFFER_SIZE)
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

/// The floor: after the handshake, the server keeps each raw socket, and on `fanout` (a
/// command on stdin) writes one pre-encoded frame to every socket from one thread per CPU,
/// with no task, channel or encoding per connection. What the kernel's loopback sends cost.
async fn serve_floor(listener: TcpListener, sockets: Arc<parking_lot::Mutex<Vec<TcpStream>>>) {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let sockets = sockets.clone();
            tokio::spawn(async move {
                if let Ok(ws) = tokio_tungstenite::accept_async(stream).await {
                    sockets.lock().push(ws.into_inner());
                }
            });
        }
    });
}

/// Writes `text` as one unmasked text frame to every socket, split across one thread per
/// CPU; returns how many got the whole frame.
fn fan_out_frames(sockets: &[TcpStream], text: &str) -> usize {
    let mut frame = vec![0x81];
    if text.len() < 126 {
        frame.push(text.len() as u8);
    } else {
        frame.push(126);
        frame.extend_from_slice(&(text.len() as u16).to_be_bytes());
    }
    frame.extend_from_slice(text.as_bytes());
    let threads = std::env::var("FLAME_FLOOR_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let chunk = sockets.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = sockets
            .chunks(chunk)
            .map(|part| {
                let frame = &frame;
                scope.spawn(move || {
                    part.iter()
                        .filter(|s| s.try_write(frame).is_ok_and(|n| n == frame.len()))
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
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
    // tokio's default, one worker per CPU, as a deployed server runs (the listeners' reader
    // is one more thread in the parent)
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // a backlog above the 200 connects in flight (`TcpListener::bind` gives 128: the
        // overflow costs a 1 s SYN retransmit per chunk)
        let listener = flame_core::server::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // "flame-hibernating" / "flame-awake": actors go idle after 200 ms, and then
        // hibernate, or (hibernation off) stay loaded with their connections
        let system = match kind {
            "flame-hibernating" | "flame-awake" => {
                flame_system_with(flame_stateful::ActorConfig {
                    idle_timeout: Duration::from_millis(200),
                    hibernation: kind == "flame-hibernating",
                    ..flame_stateful::ActorConfig::default()
                })
                .await
            }
            _ => flame_system().await,
        };
        let floor_sockets = Arc::new(parking_lot::Mutex::new(Vec::new()));
        match kind {
            "flame" | "flame-hibernating" | "flame-awake" => {
                serve_flame(listener, system.clone()).await;
            }
            "floor" => serve_floor(listener, floor_sockets.clone()).await,
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
                (Some("hibernating"), _) => println!("{}", system.hibernating_count()),
                (Some("sockets"), _) => println!("{}", floor_sockets.lock().len()),
                (Some("fanout"), _) => {
                    let text =
                        json!({"v":1,"type":"event","event":"tick","payload":"hello"}).to_string();
                    let sockets = floor_sockets.lock();
                    let sent = tokio::task::block_in_place(|| fan_out_frames(&sockets, &text));
                    println!("sent {sent}");
                }
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

/// Keeps one CPU busy until dropped.
struct Spinner(Arc<AtomicBool>, Option<std::thread::JoinHandle<()>>);

impl Spinner {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        });
        Self(stop, Some(handle))
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        if let Some(handle) = self.1.take() {
            handle.join().unwrap();
        }
    }
}

/// Round trips, twice: on an idle machine, and with one CPU kept busy by a spinning thread.
/// On a virtual machine an idle vCPU halts, and waking it costs tens of microseconds, once
/// per message each way; a busy one answers at once. Both figures are real; the second is
/// what a loaded server sees, the first what a quiet one sees. Each has its own baseline.
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
    let mut ws = connect(&format!("ws://{flame_addr}/actors/bench/rt")).await;
    next_text(&mut ws).await; // init
    println!("| machine | case | p50 | p99 | p50 ratio |");
    println!("|---|---|---|---|---|");
    for busy in [false, true] {
        let spinner = busy.then(Spinner::start);
        let (raw50, raw99) = round_trips(&mut raw, n, rpc("get", json!([]))).await;
        let (get50, get99) = round_trips(&mut ws, n, rpc("get", json!([]))).await;
        let (add50, add99) = round_trips(&mut ws, n, rpc("add", json!([1]))).await;
        drop(spinner);
        let machine = if busy { "one CPU kept busy" } else { "idle" };
        let ratio = |d: Duration| d.as_secs_f64() / raw50.as_secs_f64();
        println!(
            "| {machine} | raw tokio-tungstenite echo (baseline) | {} | {} | 1.00x |",
            us(raw50),
            us(raw99)
        );
        println!(
            "| {machine} | flame, read-only action `get` | {} | {} | {:.2}x |",
            us(get50),
            us(get99),
            ratio(get50)
        );
        println!(
            "| {machine} | flame, state-changing `add` (memory store commit) | {} | {} | {:.2}x |",
            us(add50),
            us(add99),
            ratio(add50)
        );
    }
    system.shutdown().await;
}

/// Opens `n` connections to `url`, 200 at a time, and handshakes each: for flame
/// (`subscribe`) reads `init` and subscribes to `tick`. Returns once all are connected.
async fn open_listeners(url: &str, n: usize, subscribe: bool) -> Vec<Ws> {
    let mut all = Vec::with_capacity(n);
    for chunk in 0..n.div_ceil(200) {
        let batch: Vec<_> = (0..200.min(n - chunk * 200))
            .map(|_| {
                let url = url.to_owned();
                tokio::spawn(async move {
                    let mut ws = connect(&url).await;
                    if subscribe {
                        next_text(&mut ws).await;
                        ws.send(Message::text(
                            r#"{"v":1,"type":"subscribe","event":"tick"}"#,
                        ))
                        .await
                        .unwrap();
                    }
                    ws
                })
            })
            .collect();
        for handle in batch {
            all.push(handle.await.unwrap());
        }
    }
    all
}

/// The mio token of the waker that tells the receiver thread a [`Control`] is waiting.
const CONTROL: Token = Token(usize::MAX);

/// The listening side of the broadcast: the raw sockets of handshaken connections, read by
/// one OS thread with a `mio` event loop. Round `r` is complete when every socket has had
/// `r` text frames containing `"tick"`; the thread then reports the instant it parsed the
/// last of them.
struct TickReceiver {
    control: std::sync::mpsc::Sender<Control>,
    waker: mio::Waker,
    thread: Option<std::thread::JoinHandle<()>>,
    rounds: mpsc::UnboundedReceiver<(usize, Instant)>,
    ticks: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
    n: usize,
}

impl TickReceiver {
    /// Takes the sockets out of `streams`. Nothing may be buffered in tungstenite beyond what
    /// was read already: the servers send nothing after the handshake (flame: after `init`)
    /// until a broadcast, and a stream out of step fails loudly in [`frame`].
    fn start(streams: Vec<Ws>) -> Self {
        let sockets: Vec<std::net::TcpStream> = streams
            .into_iter()
            .map(|ws| {
                let MaybeTlsStream::Plain(tcp) = ws.into_inner() else {
                    panic!("a listener is not a plain TCP stream");
                };
                let tcp = tcp.into_std().unwrap();
                tcp.set_nonblocking(true).unwrap();
                tcp
            })
            .collect();
        let n = sockets.len();
        let poll = Poll::new().unwrap();
        let waker = mio::Waker::new(poll.registry(), CONTROL).unwrap();
        let (control, commands) = std::sync::mpsc::channel();
        let ticks = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(AtomicUsize::new(0));
        let (tx, rounds) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name(String::from("tick-receiver"))
            .spawn({
                let (ticks, closed) = (ticks.clone(), closed.clone());
                move || receive(poll, sockets, &commands, &tx, &ticks, &closed)
            })
            .unwrap();
        Self {
            control,
            waker,
            thread: Some(thread),
            rounds,
            ticks,
            closed,
            n,
        }
    }

    /// Puts every listener socket in delayed-ACK mode (`TCP_QUICKACK` off) and waits until
    /// it is done. Not for good: the kernel leaves the mode once a delayed ACK goes out.
    async fn delay_acks(&self) {
        let (done, armed) = tokio::sync::oneshot::channel();
        self.control.send(Control::DelayAcks(done)).unwrap();
        self.waker.wake().unwrap();
        armed.await.unwrap();
    }

    /// Waits for round `round` (from 1) to complete; the instant its last frame was parsed.
    async fn round(&mut self, round: usize) -> Instant {
        match tokio::time::timeout(Duration::from_secs(60), self.rounds.recv()).await {
            Ok(Some((r, at))) => {
                assert_eq!(r, round, "rounds out of order");
                at
            }
            _ => panic!(
                "round {round} did not complete: {} tick frames over {} sockets in all, {} sockets closed",
                self.ticks.load(Ordering::SeqCst),
                self.n,
                self.closed.load(Ordering::SeqCst)
            ),
        }
    }
}

impl Drop for TickReceiver {
    fn drop(&mut self) {
        let _ = self.control.send(Control::Stop);
        let _ = self.waker.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the bench asks of the receiver thread.
enum Control {
    Stop,
    /// [`TickReceiver::delay_acks`]; the sender is told when it is done.
    DelayAcks(tokio::sync::oneshot::Sender<()>),
}

/// One listener socket in the receiver thread.
struct Conn {
    stream: mio::net::TcpStream,
    /// Bytes read but not yet parsed (a partial frame).
    buf: Vec<u8>,
    /// A fragmented message in progress: its opcode and payload so far.
    message: Option<(u8, Vec<u8>)>,
    /// Complete `tick` messages so far.
    ticks: usize,
    open: bool,
}

/// The receiver thread's loop; returns when `stop` is set and the waker fires.
fn receive(
    mut poll: Poll,
    sockets: Vec<std::net::TcpStream>,
    commands: &std::sync::mpsc::Receiver<Control>,
    rounds: &mpsc::UnboundedSender<(usize, Instant)>,
    ticks: &AtomicUsize,
    closed: &AtomicUsize,
) {
    let n = sockets.len();
    let mut conns: Vec<Conn> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, socket)| {
            let mut stream = mio::net::TcpStream::from_std(socket);
            poll.registry()
                .register(&mut stream, Token(i), Interest::READABLE)
                .unwrap();
            Conn {
                stream,
                buf: Vec::new(),
                message: None,
                ticks: 0,
                open: true,
            }
        })
        .collect();
    // complete[r - 1]: how many sockets have had at least r ticks
    let mut complete: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut scratch = vec![0u8; 64 * 1024];
    loop {
        if let Err(error) = poll.poll(&mut events, None) {
            if error.kind() == ErrorKind::Interrupted {
                continue;
            }
            panic!("mio poll failed: {error}");
        }
        for event in &events {
            if event.token() == CONTROL {
                while let Ok(command) = commands.try_recv() {
                    match command {
                        Control::Stop => return,
                        Control::DelayAcks(done) => {
                            for conn in conns.iter().filter(|c| c.open) {
                                socket2::SockRef::from(&conn.stream)
                                    .set_tcp_quickack(false)
                                    .unwrap();
                            }
                            let _ = done.send(());
                        }
                    }
                }
                continue;
            }
            let conn = &mut conns[event.token().0];
            // Edge-triggered: read until the socket is drained. A short read drains a stream
            // socket (epoll(7)), which spares each connection a second read that would only
            // say it would block: the receiver's syscalls are what the servers wait on.
            while conn.open {
                match conn.stream.read(&mut scratch) {
                    Ok(0) => conn.open = false,
                    Ok(read) => {
                        let drained = read < scratch.len();
                        conn.buf.extend_from_slice(&scratch[..read]);
                        let new = parse_frames(conn);
                        for _ in 0..new {
                            conn.ticks += 1;
                            ticks.fetch_add(1, Ordering::Relaxed);
                            if complete.len() < conn.ticks {
                                complete.push(0);
                            }
                            complete[conn.ticks - 1] += 1;
                            if complete[conn.ticks - 1] == n {
                                let _ = rounds.send((conn.ticks, Instant::now()));
                            }
                        }
                        if drained {
                            break;
                        }
                    }
                    Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                    Err(error) if error.kind() == ErrorKind::Interrupted => {}
                    Err(_) => conn.open = false,
                }
            }
            if !conn.open {
                let _ = poll.registry().deregister(&mut conn.stream);
                closed.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

/// The first frame in `buf` if it is complete: FIN, opcode, and where its payload is.
/// Server frames are unmasked; reserved bits, a mask or an unknown opcode mean the stream
/// is out of step (bytes were lost), which fails the bench.
fn frame(buf: &[u8]) -> Option<(bool, u8, std::ops::Range<usize>)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let opcode = b0 & 0x0f;
    assert!(
        b0 & 0x70 == 0 && b1 & 0x80 == 0 && matches!(opcode, 0x0..=0x2 | 0x8..=0xa),
        "not a server WebSocket frame header: {b0:#04x} {b1:#04x}"
    );
    let (len, head) = match b1 & 0x7f {
        126 => (
            usize::from(u16::from_be_bytes(buf.get(2..4)?.try_into().unwrap())),
            4,
        ),
        127 => {
            let len = u64::from_be_bytes(buf.get(2..10)?.try_into().unwrap());
            (usize::try_from(len).unwrap(), 10)
        }
        len => (usize::from(len), 2),
    };
    (buf.len() >= head + len).then(|| (b0 & 0x80 != 0, opcode, head..head + len))
}

fn is_tick(payload: &[u8]) -> bool {
    payload.windows(6).any(|w| w == b"\"tick\"")
}

/// Parses the complete frames in `conn.buf`, answers pings, keeps the rest; returns how many
/// `tick` text messages completed.
fn parse_frames(conn: &mut Conn) -> usize {
    let mut ticks = 0;
    let mut at = 0;
    while let Some((fin, opcode, payload)) = frame(&conn.buf[at..]) {
        let end = at + payload.end;
        let payload = &conn.buf[at + payload.start..end];
        match opcode {
            0x1 | 0x2 if fin => ticks += usize::from(opcode == 0x1 && is_tick(payload)),
            0x1 | 0x2 => conn.message = Some((opcode, payload.to_vec())),
            0x0 => {
                let (first, mut data) = conn
                    .message
                    .take()
                    .expect("a continuation frame without a start");
                data.extend_from_slice(payload);
                if fin {
                    ticks += usize::from(first == 0x1 && is_tick(&data));
                } else {
                    conn.message = Some((first, data));
                }
            }
            0x9 => {
                // pong, masked (client frames must be) with the all-zero key: the payload
                // stays as it is; a pong lost to a full socket buffer is harmless
                let mut pong = vec![0x8a, 0x80 | payload.len() as u8, 0, 0, 0, 0];
                pong.extend_from_slice(payload);
                let _ = conn.stream.write(&pong);
            }
            0x8 => conn.open = false,
            _ => {} // pong
        }
        at = end;
    }
    conn.buf.drain(..at);
    ticks
}

/// Connects `n` listeners to `url` (`flame`: subscribed to `tick`) and starts the receiver;
/// also how long connecting took.
async fn listen(url: &str, n: usize, flame: bool) -> (TickReceiver, Duration) {
    let start = Instant::now();
    let listeners = open_listeners(url, n, flame).await;
    let took = start.elapsed();
    (TickReceiver::start(listeners), took)
}

/// How the listeners acknowledge what they receive during a broadcast round.
///
/// On loopback, the listeners' kernel work runs on the server's CPUs. A socket that only
/// reads ACKs each small segment as it reads it (Linux's default), so a round to 10,000
/// listeners also carries 10,000 ACKs: each one sent by the listener thread and received by
/// a server socket, on the same two CPUs as the fan-out. Deployed, the clients' sends run
/// on their own machines. [`Acks::Delayed`] shows what the servers cost without them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Acks {
    /// As the kernel does by default: inside the round.
    AtOnce,
    /// Every listener socket is put in delayed-ACK mode before the round, and the round
    /// starts 250 ms after the last one ended, past the delayed-ACK timer of the one
    /// before (40 to 200 ms): the round's ACKs go out after it.
    Delayed,
}

/// What one server did in one ACK mode: the median time, and the TCP segments the whole
/// machine sent per round (the frames, the ACKs that fell inside the round, the trigger).
#[derive(Debug, Clone, Copy)]
struct Rounds {
    median: Duration,
    segments: f64,
}

/// The machine's TCP `OutSegs` counter.
fn tcp_segments_sent() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut tcp = snmp.lines().filter(|line| line.starts_with("Tcp:"));
    let (Some(names), Some(values)) = (tcp.next(), tcp.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(name, _)| *name == "OutSegs")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0)
}

async fn broadcast(n: usize, rounds: usize) {
    println!(
        "\n## Broadcast to {n} connections: from the call until the last connection has the event (median of {rounds})"
    );
    let mut results = Vec::new();
    let mut connecting = Vec::new();
    for kind in ["raw", "flame", "floor"] {
        let mut server = ChildServer::start(kind);
        let base = format!("ws://127.0.0.1:{}", server.port);
        let url = if kind == "flame" {
            format!("{base}/actors/bench/room")
        } else {
            format!("{base}/")
        };
        let (mut receiver, took) = listen(&url, n, kind == "flame").await;
        connecting.push(took);
        let mut trigger = connect(&url).await;
        if kind == "flame" {
            next_text(&mut trigger).await;
            // the subscribes of the listeners were sent before they counted as ready; a
            // round trip on the actor makes sure they were handled
            let count = json!({"v":1,"type":"rpc","id":0,"method":"get","args":[]}).to_string();
            trigger.send(Message::text(count)).await.unwrap();
            next_text(&mut trigger).await;
        }
        if kind == "floor" {
            // the server keeps a socket once its side of the handshake is done, a moment
            // after the client's: wait for all of them, the trigger's too
            let expected = (n + 1).to_string();
            while server.ask("sockets") != expected {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let mut modes = Vec::new();
        let mut round = 0;
        for acks in [Acks::AtOnce, Acks::Delayed] {
            let mut times = Vec::new();
            let mut segments = 0;
            for _ in 0..rounds {
                round += 1;
                let text = if kind == "flame" {
                    json!({"v":1,"type":"rpc","id":round,"method":"shout","args":["hello"]})
                        .to_string()
                } else {
                    String::from("broadcast:hello")
                };
                if acks == Acks::Delayed {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    receiver.delay_acks().await;
                }
                let before = tcp_segments_sent();
                let start = Instant::now();
                if kind == "floor" {
                    // the trigger connection got the frame too: it is one of the server's sockets
                    let sent = server.ask("fanout");
                    assert_eq!(sent, format!("sent {}", n + 1), "the floor server's writes");
                } else {
                    trigger.send(Message::text(text)).await.unwrap();
                }
                let last = receiver.round(round).await;
                times.push(last.saturating_duration_since(start));
                segments += tcp_segments_sent().saturating_sub(before);
                if kind == "flame" {
                    next_text(&mut trigger).await; // the rpc_ok
                }
            }
            times.sort();
            modes.push(Rounds {
                median: times[times.len() / 2],
                segments: segments as f64 / rounds as f64,
            });
        }
        results.push((kind, modes));
        drop(receiver);
        drop(server);
    }
    let (raw, floor) = (&results[0].1, &results[2].1);
    println!(
        "| server | listeners ACK at once (Linux's default) | listeners' ACKs delayed past the round |"
    );
    println!("|---|---|---|");
    for (kind, modes) in &results {
        let name = match *kind {
            "raw" => "raw tokio-tungstenite fan-out (baseline)",
            "floor" => "floor: one pre-encoded frame written to each socket, one thread per CPU",
            _ => "flame `ctx.broadcast`",
        };
        let cells: Vec<String> = modes
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let ms = r.median.as_secs_f64();
                format!(
                    "{:.2} ms ({:.2}x raw, {:.2}x floor; {:.0} segments)",
                    ms * 1e3,
                    ms / raw[i].median.as_secs_f64(),
                    ms / floor[i].median.as_secs_f64(),
                    r.segments
                )
            })
            .collect();
        println!("| {name} | {} | {} |", cells[0], cells[1]);
    }
    println!(
        "\nListeners: {n} raw sockets read by one mio thread that parses the frames (the same for every server; connecting and handshaking took {:.1} s raw, {:.1} s flame, {:.1} s floor). The floor is what the kernel's loopback sends alone cost on this machine: no server can beat it. Segments: TCP segments the machine sent during a round (mean), the listeners' ACKs among them when they ACK at once.",
        connecting[0].as_secs_f64(),
        connecting[1].as_secs_f64(),
        connecting[2].as_secs_f64()
    );
}

/// Part 4: hibernated actors with one idle connection each, against the same actors kept
/// loaded; `per_conn`: the server's cost of one idle connection (part 3).
async fn hibernation(n: usize, per_conn: f64) {
    println!("\n## Hibernation: {n} actors with one idle connection each (server RSS delta)");
    println!(
        "| actors | per actor, with its connection | above the connection ({:.2} KiB) |",
        per_conn / 1024.0
    );
    println!("|---|---|---|");
    let batches = 10.max(n / 1000);
    let mut wake = Vec::new();
    for kind in ["flame-awake", "flame-hibernating"] {
        let mut server = ChildServer::start(kind);
        let base = format!("ws://127.0.0.1:{}/actors/bench", server.port);
        // warm the runtime with one actor first
        let mut warm = connect(&format!("{base}/warm")).await;
        next_text(&mut warm).await;
        let before = server.rss();
        let mut all = Vec::with_capacity(n);
        // in batches, each left to hibernate before the next connects, so that what the
        // awake actors held is freed and reused rather than counted at its peak
        for batch in 0..batches {
            let start = batch * n / batches;
            let end = (batch + 1) * n / batches;
            for i in start..end {
                let mut ws = connect(&format!("{base}/hib-{i}")).await;
                next_text(&mut ws).await; // init: the actor is loaded
                all.push(ws);
            }
            if kind == "flame-hibernating" {
                let deadline = Instant::now() + Duration::from_secs(60);
                while server.ask("hibernating").parse::<usize>().unwrap() < end {
                    assert!(Instant::now() < deadline, "actors did not hibernate");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = server.rss();
        let per_actor = after.saturating_sub(before) as f64 / n as f64;
        let label = if kind == "flame-awake" {
            "loaded (hibernation off)"
        } else {
            "hibernated"
        };
        println!(
            "| {label} | {:.2} KiB | {:.2} KiB |",
            per_actor / 1024.0,
            (per_actor - per_conn) / 1024.0
        );
        // the wake-up, over the connections: an RPC to a hibernated actor, then the same
        // RPC to it awake (only the hibernating server has anything to wake)
        if kind == "flame-hibernating" {
            let sample = all.len().min(500);
            let (mut asleep, mut awake) = (Vec::new(), Vec::new());
            for (i, ws) in all.iter_mut().take(sample).enumerate() {
                let call = format!(r#"{{"v":1,"type":"rpc","id":{i},"method":"get","args":[]}}"#);
                for times in [&mut asleep, &mut awake] {
                    let start = Instant::now();
                    ws.send(Message::text(call.clone())).await.unwrap();
                    next_text(ws).await;
                    times.push(start.elapsed());
                }
            }
            asleep.sort();
            awake.sort();
            wake.push((asleep, awake));
        }
        drop(all);
        drop(server);
    }
    for (asleep, awake) in wake {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "\nWake-up, RPC over the connection ({} actors): hibernated p50 {:.0} µs, p99 {:.0} µs; the same RPC awake (baseline) p50 {:.0} µs, p99 {:.0} µs; {:.1}x / {:.1}x",
            asleep.len(),
            us(percentile(&asleep, 0.5)),
            us(percentile(&asleep, 0.99)),
            us(percentile(&awake, 0.5)),
            us(percentile(&awake, 0.99)),
            us(percentile(&asleep, 0.5)) / us(percentile(&awake, 0.5)),
            us(percentile(&asleep, 0.99)) / us(percentile(&awake, 0.99)),
        );
    }
}

/// Part 3; returns flame's cost of one idle connection, in bytes.
async fn memory(n: usize) -> f64 {
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
        // idle listeners: nothing reads them, they only stay open
        let listeners = open_listeners(&url, n, kind == "flame").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = server.rss();
        per_conn.push((kind, after.saturating_sub(before) as f64 / n as f64));
        drop(listeners);
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
    let flame = per_conn
        .iter()
        .find(|(kind, _)| *kind == "flame")
        .map_or(0.0, |(_, b)| *b);
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
    flame
}

fn main() {
    if let Ok(kind) = std::env::var(CHILD_VAR) {
        child(&kind);
        return;
    }
    // `cargo test --benches` runs bench binaries with `--test`-like flags: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "transport benchmarks: run with `cargo bench -p flame-stateful --bench transport`"
        );
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
    // FLAME_BENCH_ONLY=broadcast (or rpc, memory; comma-separated) runs only those parts
    let only = std::env::var("FLAME_BENCH_ONLY").unwrap_or_default();
    let wanted = |part: &str| only.is_empty() || only.split(',').any(|p| p.trim() == part);
    runtime.block_on(async {
        if wanted("rpc") {
            rpc_latency(20_000).await;
        }
        if wanted("broadcast") {
            let rounds = std::env::var("FLAME_BENCH_ROUNDS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(5);
            broadcast(n, rounds).await;
        }
        let mut per_conn = None;
        if wanted("memory") || wanted("hibernation") {
            per_conn = Some(memory(n).await);
        }
        if let Some(per_conn) = per_conn.filter(|_| wanted("hibernation")) {
            hibernation(n, per_conn).await;
        }
    });
}
