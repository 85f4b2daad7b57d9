//! The HTTP RPC's message limit against greedy clients, over real loopback sockets: the limit
//! applies while the body streams in, so stalled uploads cannot make the server buffer them.

use flame_test_support as common;

use std::time::Duration;

use common::net::Server;
use common::{Log, memory_system};
use flame_stateful::transport::TransportConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Only there so that a broken server fails the test instead of hanging it.
const GENEROUS: Duration = Duration::from_secs(60);

/// The resident memory of this process (server and clients), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

/// Starts an upload of up to 2 MiB (chunked, 16 KiB at a time, from one shared buffer) that
/// stalls before its end, and returns the head of the answer.
async fn stalled_upload(addr: std::net::SocketAddr) -> String {
    static CHUNK: [u8; 16 * 1024] = [b' '; 16 * 1024];
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        let head = b"POST /actors/counter/big/rpc/increment HTTP/1.1\r\nHost: x\r\n\
                     Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        write.write_all(head).await?;
        write.write_all(b"1\r\n[\r\n").await?;
        // 2 MiB minus a chunk, then silence with the connection held open
        for _ in 0..127 {
            write.write_all(b"4000\r\n").await?;
            write.write_all(&CHUNK).await?;
            write.write_all(b"\r\n").await?;
        }
        tokio::time::sleep(GENEROUS).await;
        Ok::<_, std::io::Error>(write)
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    let read_head = tokio::time::timeout(GENEROUS, async {
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    writer.abort();
    assert!(read_head.is_ok(), "no answer while the upload stalled");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_uploads_past_the_message_limit_get_413_without_being_buffered() {
    let log = Log::default();
    let system = memory_system(&log).await;
    let limit = system.config().max_message_size;
    assert_eq!(
        limit,
        64 * 1024,
        "the test is written for the default limit"
    );
    let server = Server::start(system, TransportConfig::default()).await;

    // declared too long: refused before any of it is read
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(
            b"POST /actors/counter/big/rpc/increment HTTP/1.1\r\nHost: x\r\n\
              Content-Length: 2097152\r\n\r\n[",
        )
        .await
        .expect("write");
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(GENEROUS, stream.read(&mut buf))
        .await
        .expect("an answer")
        .expect("read");
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer:?}");
    assert!(answer.contains("message_too_long"), "{answer:?}");

    // 50 streamed uploads of 2 MiB that stall before their end: each is answered once it
    // passes the limit, and the server never holds their 100 MiB
    let before = rss_kib();
    let uploads: Vec<_> = (0..50)
        .map(|_| tokio::spawn(stalled_upload(server.addr)))
        .collect();
    for upload in uploads {
        let answer = upload.await.expect("upload task");
        assert!(answer.starts_with("HTTP/1.1 413 "), "{answer:?}");
    }
    let grown_kib = rss_kib().saturating_sub(before);
    eprintln!("50 refused uploads: the process grew by {grown_kib} KiB");
    assert!(
        grown_kib < 40 * 1024,
        "the process grew by {grown_kib} KiB for 50 uploads refused at 64 KiB"
    );

    // a body of exactly the limit is read (and refused by the action, not by the limit)
    let body = format!("[{}1]", " ".repeat(limit - 3));
    assert_eq!(body.len(), limit);
    let response = reqwest::Client::new()
        .post(server.http_url("/actors/counter/big/rpc/increment"))
        .body(body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    server.stop().await;
}
