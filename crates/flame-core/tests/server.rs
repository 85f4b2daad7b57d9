//! Serving over real loopback sockets: run/serve, graceful shutdown, panics with and without
//! Recovery, bad input from the wire, axum interop.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use flame_core::{Context, Flame, Request};
use flame_test_support::TestServer;

/// Sends raw bytes and reads the raw answer (empty when the server closed the connection).
async fn raw(addr: std::net::SocketAddr, request: Vec<u8>) -> String {
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(&request).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn serves_and_shuts_down_gracefully() {
    let mut f = Flame::new();
    f.get("/", |c: Context| {
        format!(
            "peer {}",
            c.peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default()
        )
    });
    f.get("/slow", || async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        "finished"
    });
    let server = TestServer::start(f).await;
    assert_eq!(
        reqwest::get(server.url("/"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "peer 127.0.0.1"
    );
    // An in-flight request completes across the shutdown signal.
    let slow = tokio::spawn(reqwest::get(server.url("/slow")));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let addr = server.addr();
    server.stop().await;
    assert_eq!(
        slow.await.unwrap().unwrap().text().await.unwrap(),
        "finished"
    );
    assert!(TcpStream::connect(addr).is_err(), "no longer listening");
}

#[tokio::test]
async fn without_recovery_a_panic_closes_the_connection_and_the_server_lives() {
    let mut f = Flame::new();
    f.get("/boom", || -> &'static str { panic!("boom") });
    f.get("/ok", || "ok");
    let server = TestServer::start(f).await;
    let answer = raw(
        server.addr(),
        b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
    )
    .await;
    assert!(
        answer.is_empty(),
        "connection closed without an answer: {answer:?}"
    );
    assert_eq!(
        reqwest::get(server.url("/ok"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    server.stop().await;
}

#[tokio::test]
async fn with_recovery_a_panic_is_a_500() {
    let mut f = Flame::new();
    f.use_(flame_core::recovery_with(flame_core::RecoveryOptions {
        plain_text: true,
    }));
    f.get("/boom", || -> &'static str { panic!("kaboom") });
    f.get("/async-boom", || async {
        tokio::task::yield_now().await;
        if true {
            panic!("async kaboom");
        }
        "unreachable"
    });
    let server = TestServer::start(f).await;
    for (path, message) in [("/boom", "kaboom"), ("/async-boom", "async kaboom")] {
        let response = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(response.status(), 500);
        let body = response.text().await.unwrap();
        assert!(body.starts_with(&format!("PANIC: {message}")), "{body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn bad_input_from_the_wire_gets_a_4xx_never_a_crash() {
    let mut f = Flame::new();
    f.use_(flame_core::recovery());
    f.get("/", || "home");
    f.post("/echo", |r: Request| async move { r.body_string().await });
    f.body_limit(16);
    let server = TestServer::start(f).await;

    // An unknown method is a 404, like any unmatched request.
    let answer = raw(
        server.addr(),
        b"BREW / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    // A malformed request line is refused by the HTTP stack.
    let answer = raw(
        server.addr(),
        b"GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    // A huge header.
    let mut huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 512 * 1024));
    huge.extend(b"\r\n\r\n");
    let answer = raw(server.addr(), huge).await;
    assert!(
        answer.starts_with("HTTP/1.1 431") || answer.is_empty(),
        "{answer}"
    );
    // A body over the limit.
    let response = reqwest::Client::new()
        .post(server.url("/echo"))
        .body("x".repeat(100))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    // Invalid UTF-8 where text is expected.
    let response = reqwest::Client::new()
        .post(server.url("/echo"))
        .body(vec![0xff, 0xfe])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // Invalid percent-encoding and odd bytes in the path.
    let answer = raw(
        server.addr(),
        b"GET /%zz%ff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    // Still serving.
    assert_eq!(
        reqwest::get(server.url("/"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "home"
    );
    server.stop().await;
}

#[tokio::test]
async fn mounts_inside_an_axum_router() {
    let mut f = Flame::new();
    f.get("/hello", |c: Context| {
        format!("flame at {}", c.uri().path())
    });
    let app = axum::Router::new()
        .route("/axum", axum::routing::get(|| async { "axum" }))
        .nest_service("/flame", f.into_service());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let get = |path: &'static str| async move {
        reqwest::get(format!("http://{addr}{path}"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert_eq!(get("/axum").await, "axum");
    assert_eq!(get("/flame/hello").await, "flame at /hello");
    server.abort();
}

#[test]
fn run_reports_a_bad_address() {
    let err = Flame::new().run_on("not an address").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot listen on not an address: "),
        "{err}"
    );
}

/// A burst of connections above tokio's default backlog (128) is queued by the kernel, not
/// dropped: `server::bind` (what `run()` uses) asks for `LISTEN_BACKLOG`. With a backlog of
/// 128 the connects above it would wait for SYN retransmits that never succeed here, since
/// nothing accepts.
#[tokio::test]
async fn bind_queues_a_burst_above_the_default_backlog() {
    let listener = flame_core::server::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let burst = 300;
    let connects: Vec<_> = (0..burst)
        .map(|_| {
            tokio::spawn(async move {
                tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
                    .await
            })
        })
        .collect();
    let mut connected = Vec::new();
    for c in connects {
        if let Ok(Ok(stream)) = c.await.unwrap() {
            connected.push(stream);
        }
    }
    assert_eq!(connected.len(), burst, "connections queued without accept");
    drop(listener);
}

#[tokio::test]
async fn bind_reports_an_address_that_does_not_parse() {
    let err = flame_core::server::bind("not an address")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
}
