//! What slow or greedy clients can do to `serve()`, over real loopback sockets: headers that
//! never end, bodies that stall or never stop, too many connections, HTTP/2 and its limits.
//! Every wait has a generous bound that only turns a broken server into a failure instead of
//! a hang; nothing here asserts how fast.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use flame_core::server::ServerConfig;
use flame_core::{Flame, Request};
use flame_test_support::TestServer;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Only there so that a broken server fails the test instead of hanging it.
const GENEROUS: Duration = Duration::from_secs(30);

fn short_timeouts() -> ServerConfig {
    ServerConfig {
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    }
}

async fn start(config: ServerConfig, setup: impl FnOnce(&mut Flame)) -> TestServer {
    let mut f = Flame::new();
    f.server_config(config);
    f.get("/", || "hello");
    f.post("/echo", |r: Request| async move {
        r.body_bytes().await.map(|body| body.len().to_string())
    });
    setup(&mut f);
    TestServer::start(f).await
}

/// Reads until the server closes the connection; the bytes it sent before closing. Panics
/// if the server keeps the connection open past [`GENEROUS`].
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(GENEROUS, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server kept the connection open; it sent {:?}",
        String::from_utf8_lossy(&answer)
    );
    String::from_utf8_lossy(&answer).into_owned()
}

/// Reads until `needle` has arrived (the connection may stay open).
async fn until_seen(stream: &mut TcpStream, needle: &str) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let seen = tokio::time::timeout(GENEROUS, async {
        loop {
            if String::from_utf8_lossy(&answer).contains(needle) {
                return true;
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return String::from_utf8_lossy(&answer).contains(needle),
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert_eq!(seen, Ok(true), "expected {needle:?}, got {answer:?}");
    answer
}

#[tokio::test]
async fn clients_that_never_finish_their_headers_are_disconnected() {
    let server = start(short_timeouts(), |_| {}).await;
    let mut clients = Vec::new();
    for i in 0..20 {
        let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
        match i % 3 {
            // the start of a request, then nothing
            0 => stream
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
                .await
                .expect("write"),
            // nothing at all
            1 => {}
            // one byte now and then, never the blank line
            _ => {
                stream
                    .write_all(b"GET / HTTP/1.1\r\n")
                    .await
                    .expect("write");
            }
        }
        clients.push((i, stream));
    }
    // the tricklers keep sending while everyone waits to be closed
    let mut waits = Vec::new();
    for (i, mut stream) in clients {
        waits.push(tokio::spawn(async move {
            if i % 3 == 2 {
                let trickle = async {
                    loop {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        if stream.write_all(b"X").await.is_err() {
                            return;
                        }
                    }
                };
                let _ = tokio::time::timeout(GENEROUS, trickle).await;
                // a write fails only once the server has closed its side
                until_closed(&mut stream).await
            } else {
                until_closed(&mut stream).await
            }
        }));
    }
    for wait in waits {
        let answer = wait.await.expect("client task");
        assert!(
            !answer.contains("200 OK"),
            "a half-sent request was answered: {answer:?}"
        );
    }
    // and the server still serves everyone else
    assert_eq!(server.get("/").await, (200, "hello".to_owned()));
    server.stop().await;
}

#[tokio::test]
async fn a_body_that_stalls_is_answered_408_and_the_connection_closed() {
    let server = start(short_timeouts(), |_| {}).await;
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        .await
        .expect("write");
    let answer = until_closed(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer:?}"
    );
    assert!(answer.contains("the client sent none of the request body for 1s"));
    // a body that arrives slowly, but never stalls for a whole timeout, is read in full
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
        )
        .await
        .expect("write");
    for byte in b"abcde" {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stream.write_all(&[*byte]).await.expect("write");
    }
    let answer = until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
    assert!(answer.ends_with("\r\n\r\n5"), "{answer:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_body_limit_refuses_while_the_body_streams() {
    let server = start(ServerConfig::default(), |f| {
        f.body_limit(64 * 1024);
    })
    .await;
    // declared too long: refused before a byte of it is read
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n")
        .await
        .expect("write");
    let answer = until_seen(&mut stream, "\r\n\r\n").await;
    assert!(
        answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{answer:?}"
    );
    // streamed (chunked): refused once it passes 64 KiB, though the client never finishes
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .expect("write");
    let chunk = vec![b'a'; 16 * 1024];
    for _ in 0..4 {
        stream.write_all(b"4000\r\n").await.expect("write");
        stream.write_all(&chunk).await.expect("write");
        stream.write_all(b"\r\n").await.expect("write");
    }
    // exactly the limit so far; one byte more and then silence
    stream.write_all(b"1\r\nb\r\n").await.expect("write");
    let answer = until_seen(&mut stream, "\r\n\r\n").await;
    assert!(
        answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{answer:?}"
    );
    // exactly the limit is accepted
    let client = reqwest::Client::new();
    let response = client
        .post(server.url("/echo"))
        .body(vec![b'a'; 64 * 1024])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "65536");
    server.stop().await;
}

/// Sends a whole request on a new keep-alive connection and reads its answer, leaving the
/// connection open.
async fn open_and_request(addr: SocketAddr) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answer = until_seen(&mut stream, "\r\n\r\n").await;
    (stream, answer)
}

#[tokio::test]
async fn over_the_connection_cap_new_clients_get_503_at_once() {
    let config = ServerConfig {
        max_connections: 3,
        ..ServerConfig::default()
    };
    let mut stats = None;
    let server = start(config, |f| stats = Some(f.server_stats())).await;
    let stats = stats.expect("the app's stats");
    let mut held = Vec::new();
    for _ in 0..3 {
        let (stream, answer) = open_and_request(server.addr()).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
        held.push(stream);
    }
    let mut refused = TcpStream::connect(server.addr()).await.expect("connect");
    refused
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answer = until_closed(&mut refused).await;
    assert!(
        answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{answer:?}"
    );
    assert!(answer.contains("retry-after: 1\r\n"), "{answer:?}");
    // the stats count what happened
    assert_eq!(stats.connection_cap(), Some(3));
    assert_eq!(stats.open_connections(), 3);
    assert_eq!(stats.accepted(), 3);
    assert_eq!(stats.refused(), 1);
    assert_eq!(stats.accept_errors(), 0);
    // a place frees up when a connection closes
    drop(held.pop());
    let served = tokio::time::timeout(GENEROUS, async {
        loop {
            let (_stream, answer) = open_and_request(server.addr()).await;
            if answer.starts_with("HTTP/1.1 200 OK\r\n") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(served.is_ok(), "no place freed up after a client left");
    drop(held);
    server.stop().await;
}

#[tokio::test]
async fn a_websocket_holds_its_place_under_the_cap_until_it_closes() {
    use futures_util::{SinkExt, StreamExt};
    let config = ServerConfig {
        max_connections: 1,
        ..ServerConfig::default()
    };
    let server = start(config, |f| {
        f.get("/ws", |c: flame_core::Context| async move {
            let upgrade = c.websocket_upgrade().await?;
            Ok::<_, flame_core::HttpError>(flame_core::Axum(upgrade.on_upgrade(
                |mut socket| async move {
                    while let Some(Ok(message)) = socket.recv().await {
                        if socket.send(message).await.is_err() {
                            return;
                        }
                    }
                },
            )))
        });
    })
    .await;
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url("/ws"))
        .await
        .expect("websocket");
    ws.send(tokio_tungstenite::tungstenite::Message::text("hi"))
        .await
        .expect("send");
    let echo = ws.next().await.expect("a message").expect("ok");
    assert_eq!(echo.into_text().expect("text"), "hi");
    // the upgraded connection still counts
    let mut refused = TcpStream::connect(server.addr()).await.expect("connect");
    refused
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answer = until_closed(&mut refused).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    // so does a second WebSocket: refused with 503 before its upgrade, not left hanging
    match tokio_tungstenite::connect_async(server.ws_url("/ws")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        other => panic!("a WebSocket over the cap got {other:?}"),
    }
    ws.close(None).await.expect("close");
    drop(ws);
    let served = tokio::time::timeout(GENEROUS, async {
        loop {
            let (_stream, answer) = open_and_request(server.addr()).await;
            if answer.starts_with("HTTP/1.1 200 OK\r\n") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(served.is_ok(), "the WebSocket's place was never freed");
    server.stop().await;
}

/// An HTTP/2 client with prior knowledge (h2c) on one new connection; the connection's task
/// ends when the server closes it.
async fn h2_client(
    addr: SocketAddr,
) -> (
    hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    tokio::task::JoinHandle<()>,
) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(stream))
        .await
        .expect("h2 handshake");
    let task = tokio::spawn(async move {
        let _ = conn.await;
    });
    (sender, task)
}

async fn h2_get(
    sender: &mut hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    request: http::Request<Empty<Bytes>>,
) -> Result<(u16, String), hyper::Error> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn get(path: &str) -> http::Request<Empty<Bytes>> {
    http::Request::get(format!("http://x{path}"))
        .body(Empty::new())
        .expect("request")
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_served() {
    let server = start(ServerConfig::default(), |f| {
        f.get("/version", |r: Request| format!("{:?}", r.version()));
    })
    .await;
    let (mut sender, _conn) = h2_client(server.addr()).await;
    assert_eq!(
        h2_get(&mut sender, get("/")).await.expect("request"),
        (200, "hello".to_owned())
    );
    assert_eq!(
        h2_get(&mut sender, get("/version")).await.expect("request"),
        (200, "HTTP/2.0".to_owned())
    );
    server.stop().await;
}

#[tokio::test]
async fn http2_streams_beyond_the_limit_wait_for_a_free_one() {
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let config = ServerConfig {
        http2_max_concurrent_streams: 2,
        ..ServerConfig::default()
    };
    let (running2, most2) = (running.clone(), most.clone());
    let server = start(config, move |f| {
        f.get("/busy", move || {
            let (running, most) = (running2.clone(), most2.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // long enough for every request of the test to be sent meanwhile
                tokio::time::sleep(Duration::from_millis(300)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                "done"
            }
        });
    })
    .await;
    let (mut sender, _conn) = h2_client(server.addr()).await;
    // one request first, so that the client has the server's SETTINGS (before them, the
    // server refuses the streams over its limit with REFUSED_STREAM)
    assert_eq!(
        h2_get(&mut sender, get("/")).await.expect("request"),
        (200, "hello".to_owned())
    );
    let mut requests = Vec::new();
    for _ in 0..6 {
        let mut sender = sender.clone();
        requests.push(tokio::spawn(async move {
            tokio::time::timeout(GENEROUS, h2_get(&mut sender, get("/busy"))).await
        }));
    }
    for request in requests {
        let answer = request.await.expect("task").expect("in time").expect("ok");
        assert_eq!(answer, (200, "done".to_owned()));
    }
    assert_eq!(most.load(Ordering::SeqCst), 2);
    server.stop().await;
}

#[tokio::test]
async fn http2_headers_beyond_the_limit_are_refused() {
    let config = ServerConfig {
        http2_max_header_list_size: 1024,
        ..ServerConfig::default()
    };
    let server = start(config, |_| {}).await;
    let (mut sender, _conn) = h2_client(server.addr()).await;
    let mut big = get("/");
    big.headers_mut().insert(
        "x-big",
        http::HeaderValue::from_str(&"a".repeat(4096)).expect("value"),
    );
    match h2_get(&mut sender, big).await {
        Ok((status, _)) => assert_eq!(status, 431),
        Err(error) => assert!(!error.is_timeout(), "{error}"),
    }
    let (mut sender, _conn) = h2_client(server.addr()).await;
    assert_eq!(
        h2_get(&mut sender, get("/"))
            .await
            .expect("a small request"),
        (200, "hello".to_owned())
    );
    server.stop().await;
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed() {
    let config = ServerConfig {
        idle_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    };
    let server = start(config, |_| {}).await;
    let (mut sender, conn) = h2_client(server.addr()).await;
    assert_eq!(
        h2_get(&mut sender, get("/")).await.expect("request"),
        (200, "hello".to_owned())
    );
    tokio::time::timeout(GENEROUS, conn)
        .await
        .expect("the server closed the idle connection")
        .expect("connection task");
    server.stop().await;
}

#[tokio::test]
async fn an_http2_client_that_never_answers_pings_is_disconnected() {
    // every other timeout far away: only the pings can close this connection
    let config = ServerConfig {
        header_read_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_secs(600),
        http2_keep_alive_interval: Duration::from_millis(500),
        http2_keep_alive_timeout: Duration::from_millis(500),
        ..ServerConfig::default()
    };
    let server = start(config, |_| {}).await;
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    // the preface and an empty SETTINGS frame, then never a byte more, never an answer
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .expect("write");
    until_closed(&mut stream).await;
    server.stop().await;
}

#[tokio::test]
async fn a_request_longer_than_the_idle_timeout_is_not_cut() {
    let server = start(short_timeouts(), |f| {
        f.get("/slow", || async {
            // three idle timeouts long
            tokio::time::sleep(Duration::from_secs(3)).await;
            "finished"
        });
    })
    .await;
    let (mut sender, _conn) = h2_client(server.addr()).await;
    assert_eq!(
        h2_get(&mut sender, get("/slow")).await.expect("http/2"),
        (200, "finished".to_owned())
    );
    assert_eq!(server.get("/slow").await, (200, "finished".to_owned()));
    server.stop().await;
}

#[tokio::test]
async fn a_keep_alive_connection_waiting_for_its_next_request_is_closed() {
    let config = ServerConfig {
        header_read_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    };
    let server = start(config, |_| {}).await;
    // silent after its first request
    let (mut idle, answer) = open_and_request(server.addr()).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
    // half of a second request, then nothing
    let (mut slow, answer) = open_and_request(server.addr()).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
    slow.write_all(b"GET / HTTP/1.1\r\nHost:")
        .await
        .expect("write");
    // closed without another answer (what is left of the first one may still arrive)
    for stream in [&mut idle, &mut slow] {
        let rest = until_closed(stream).await;
        assert!(!rest.contains("HTTP/1.1"), "{rest:?}");
    }
    server.stop().await;
}

/// An endless response: 64 KiB chunks for as long as the client takes them.
fn endless(f: &mut Flame) {
    f.get("/endless", || {
        let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
        let body = axum::body::Body::from_stream(futures_util::stream::repeat_with(move || {
            Ok::<_, std::convert::Infallible>(chunk.clone())
        }));
        flame_core::Reply::response(axum::response::Response::new(body))
    });
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_after_the_send_timeout() {
    let config = ServerConfig {
        send_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    };
    let mut stats = None;
    let server = start(config, |f| {
        stats = Some(f.server_stats());
        endless(f);
    })
    .await;
    let stats = stats.expect("the app's stats");
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream
        .write_all(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let accepted = tokio::time::timeout(GENEROUS, async {
        while stats.accepted() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(accepted.is_ok(), "the connection was never accepted");
    // the client reads nothing: the socket buffers fill, the server's writes wait, and the
    // send timeout closes the connection (without it, it would stay open for ever)
    let closed = tokio::time::timeout(GENEROUS, async {
        while stats.open_connections() > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(closed.is_ok(), "the stalled connection was never closed");
    // what the kernel had buffered is still readable, then the connection ends
    let mut sink = vec![0u8; 1 << 20];
    let ended = tokio::time::timeout(GENEROUS, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the client's side never ended");
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_reads_slowly_but_steadily_is_not_cut() {
    // the timeout is 40 times the pause between reads, and the whole read takes longer than
    // the timeout: only a timeout between writes (not for the whole response) lets it through
    let config = ServerConfig {
        send_timeout: Duration::from_secs(2),
        ..ServerConfig::default()
    };
    let server = start(config, |f| {
        f.get("/big", || "x".repeat(16 << 20));
    })
    .await;
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream
        .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut received = 0usize;
    let mut chunk = vec![0u8; 256 * 1024];
    let read_all = tokio::time::timeout(GENEROUS, async {
        loop {
            let n = stream.read(&mut chunk).await.expect("read");
            if n == 0 {
                return;
            }
            received += n;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(read_all.is_ok(), "the slow reader never got to the end");
    assert!(
        received > 16 << 20,
        "the slow reader got {received} bytes, the whole body is {} plus the head",
        16 << 20
    );
    server.stop().await;
}
