//! Out of file descriptors: the accept loop neither spins nor dies, and serves again once
//! descriptors are free. Its own test binary, since it lowers the process's limit.
#![cfg(target_os = "linux")]

use std::fs::File;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flame_core::Flame;
use flame_core::server::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// CPU time this process used so far (user + system), from /proc/self/stat, opened
/// beforehand since no descriptor is left to open it when it is needed.
fn cpu_time(stat: &mut File) -> Duration {
    use std::io::{Read, Seek};
    stat.rewind().expect("rewind");
    let mut stat_text = String::new();
    stat.read_to_string(&mut stat_text)
        .expect("read /proc/self/stat");
    let stat = stat_text;
    // the fields after the command name, which is in parentheses and may hold spaces
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("a command name")
        .1
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here (0-based 11, 12)
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // clock ticks are 100 per second on every Linux configuration in use
    Duration::from_millis(ticks * 10)
}

/// The log lines, kept in memory (writing them needs no descriptor).
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn count(&self, needle: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().expect("lock"))
            .lines()
            .filter(|line| line.contains(needle))
            .count()
    }
}

#[test]
fn out_of_file_descriptors_the_accept_loop_backs_off_and_recovers() {
    let lines = Lines::default();
    let writer = lines.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let (_, hard) = rlimit::Resource::NOFILE.get().expect("getrlimit");
    rlimit::Resource::NOFILE
        .set(256.min(hard), hard)
        .expect("setrlimit");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut f = Flame::new();
        f.server_config(ServerConfig {
            raise_file_limit: false,
            ..ServerConfig::default()
        });
        f.get("/", || "hello");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(f.serve_with_shutdown(listener, async move {
            let _ = stopped.await;
        }));

        let mut stat = File::open("/proc/self/stat").expect("/proc/self/stat");
        // take every descriptor left, then give one back for the client's socket
        let mut hoard = Vec::new();
        while let Ok(file) = File::open("/dev/null") {
            hoard.push(file);
        }
        assert!(!hoard.is_empty());
        hoard.pop();
        let mut client = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connect (the kernel completes it; the server cannot accept it)");
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");

        // the server now fails to accept, again and again: it must wait, not spin
        let before = cpu_time(&mut stat);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let used = cpu_time(&mut stat).saturating_sub(before);
        assert!(
            used < Duration::from_millis(1000),
            "the process used {used:?} of CPU in 2 s while accept failed: a busy loop"
        );

        // logged, once a second at most
        let logged = lines.count("cannot accept connections");
        assert!(
            (1..=3).contains(&logged),
            "{logged} accept error lines in 2 s"
        );

        // descriptors free again: the waiting client is served
        drop(hoard);
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(30), client.read_to_string(&mut answer))
            .await
            .expect("served once descriptors are free")
            .expect("read");
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
        assert!(answer.ends_with("hello"), "{answer:?}");

        let _ = stop.send(());
        server
            .await
            .expect("server task")
            .expect("served and stopped");
    });
}
