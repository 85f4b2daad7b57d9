//! A raw WebSocket client: a handshake done by hand over a `TcpStream`, then any bytes at
//! all, and the server's frames read back as they are. Only tokio, so that flame-actor's
//! tests (which cannot depend on this crate: it depends on flame-stateful, which depends on
//! flame-actor) include this file by path.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

/// Only there so a broken test fails instead of hanging.
const HANG: Duration = Duration::from_secs(20);

/// A WebSocket handshake done by hand over a plain `TcpStream`, so that a test can then
/// write any bytes at all (frames no WebSocket library would send). `path` is the request
/// target, `/actors/counter/a?params=...`.
pub async fn raw_connect(addr: SocketAddr, path: &str) -> TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.expect("write");
    // byte by byte, so that no frame after the head is swallowed
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = tokio::time::timeout(HANG, tcp.read_u8())
            .await
            .expect("no hang")
            .expect("the response head");
        head.push(byte);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp
}

/// One masked client frame: `first` is the FIN/RSV/opcode byte, as sent.
pub fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![first];
    if payload.len() < 126 {
        frame.push(0x80 | payload.len() as u8);
    } else {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// What a raw client read until the server's close frame.
#[derive(Debug)]
pub struct RawClose {
    /// The text messages before the close frame.
    pub texts: Vec<String>,
    /// The close frame's status code; `None` for an empty close frame.
    pub code: Option<u16>,
    pub reason: String,
    /// Whether the server then ended the TCP connection cleanly (EOF).
    pub eof: bool,
}

/// Reads the server's (unmasked) frames until its close frame, then whether EOF follows.
pub async fn raw_read_close(tcp: &mut TcpStream) -> RawClose {
    use tokio::io::AsyncReadExt;
    let read = async {
        let mut texts = Vec::new();
        loop {
            let mut header = [0u8; 2];
            tcp.read_exact(&mut header).await.expect("a frame header");
            let len = match header[1] & 0x7f {
                126 => u64::from(tcp.read_u16().await.expect("length")),
                127 => tcp.read_u64().await.expect("length"),
                n => u64::from(n),
            };
            let mut payload = vec![0; usize::try_from(len).expect("length")];
            tcp.read_exact(&mut payload).await.expect("a payload");
            match header[0] & 0x0f {
                0x1 => texts.push(String::from_utf8(payload).expect("UTF-8 text")),
                0x8 => {
                    let code =
                        (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                    let reason =
                        String::from_utf8_lossy(payload.get(2..).unwrap_or_default()).into_owned();
                    let mut rest = [0u8; 64];
                    let eof = matches!(tcp.read(&mut rest).await, Ok(0));
                    return RawClose {
                        texts,
                        code,
                        reason,
                        eof,
                    };
                }
                _ => {}
            }
        }
    };
    tokio::time::timeout(HANG, read)
        .await
        .expect("a close frame before the hang guard")
}
