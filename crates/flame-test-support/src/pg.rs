//! [`PgServer`]: a real PostgreSQL server for tests, started from the system's binaries
//! (`initdb`, `pg_ctl`) in a temporary directory, on 127.0.0.1 and a free port, with trust
//! authentication. Stopped (immediate shutdown) and removed on drop, panics included.
//!
//! PostgreSQL refuses to run as root, so when the test runs as root the server runs as
//! `nobody` (through `setpriv`) in a directory handed over to that user.
//!
//! Where the binaries are missing, [`PgServer::start`] returns `None` after printing why, so
//! the test can return early; with the `CI` environment variable set it panics instead: CI
//! must run these tests.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Where Debian keeps the server binaries when they are not on `PATH`.
const DEBIAN_BIN_DIRS: &[&str] = &[
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
];

/// A PostgreSQL server owned by a test.
#[derive(Debug)]
pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_nobody: bool,
    running: bool,
    /// Another address to listen on besides 127.0.0.1 (a bridge's, for namespace tests).
    also: Option<String>,
}

fn find_bin_dir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Some(dir);
            }
        }
    }
    DEBIAN_BIN_DIRS
        .iter()
        .map(PathBuf::from)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl PgServer {
    /// Starts a fresh server, or returns `None` (after printing why) when PostgreSQL's
    /// binaries are not installed. Panics when they are missing and `CI` is set, or when the
    /// server does not come up.
    pub fn start() -> Option<Self> {
        let Some(bin) = find_bin_dir() else {
            let why = "PostgreSQL's binaries (initdb, pg_ctl) are not installed \
                       (Debian: apt-get install postgresql)";
            if std::env::var_os("CI").is_some() {
                panic!("{why}; CI requires them");
            }
            eprintln!("skipping: {why}");
            return None;
        };
        let as_nobody = is_root();
        let dir = tempfile::Builder::new()
            .prefix("flame-pg-")
            .tempdir()
            .unwrap();
        if as_nobody {
            let status = Command::new("chown")
                .args(["-R", "nobody:nogroup"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown of the PostgreSQL directory failed");
        }
        let mut server = Self {
            dir,
            bin,
            port: free_port(),
            as_nobody,
            running: false,
            also: None,
        };
        let data = server.data_dir();
        let out = server.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        server.start_again();
        Some(server)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(program);
        let mut cmd = if self.as_nobody {
            let mut cmd = Command::new("setpriv");
            cmd.args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "--reset-env",
            ])
            .arg(&exe);
            cmd
        } else {
            Command::new(&exe)
        };
        cmd.args(args).current_dir(self.dir.path());
        cmd.output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()))
    }

    /// Listens on `addr` too (an address of this host: a bridge's, for the tests that put
    /// nodes in network namespaces) and lets clients from `subnet` (CIDR) in without a
    /// password; restarts the server.
    pub fn listen_also(&mut self, addr: &str, subnet: &str) {
        self.stop();
        let hba = self.data_dir().join("pg_hba.conf");
        let mut text = std::fs::read_to_string(&hba).unwrap();
        text.push_str(&format!("host all all {subnet} trust\n"));
        std::fs::write(&hba, text).unwrap();
        self.also = Some(addr.to_owned());
        self.start_again();
    }

    /// [`url`](Self::url) through `host` (one of the addresses it listens on).
    pub fn url_at(&self, host: &str) -> String {
        format!(
            "postgres://postgres@{host}:{}/postgres?connect_timeout=5",
            self.port
        )
    }

    /// A connection URL for the `postgres` database as the `postgres` superuser.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?connect_timeout=5",
            self.port
        )
    }

    /// The TCP port it listens on (kept across [`stop`](Self::stop) and
    /// [`start_again`](Self::start_again)).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's directory (data and log).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Starts the server (again) on the same data directory and port; waits until it accepts
    /// connections.
    pub fn start_again(&mut self) {
        assert!(!self.running, "the server is already running");
        let data = self.data_dir();
        let log = self.dir.path().join("server.log");
        // fsync stays on: the durability tests rely on what a commit promises.
        let hosts = match &self.also {
            Some(also) => format!("127.0.0.1,{also}"),
            None => String::from("127.0.0.1"),
        };
        let options = format!(
            "-h {hosts} -p {} -k {} -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let out = self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        if !out.status.success() {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!(
                "pg_ctl start failed: {}{}\n{log}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        self.running = true;
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "PostgreSQL did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: like a crash, no checkpoint;
    /// what was committed survives through the WAL).
    pub fn stop(&mut self) {
        self.stop_with("immediate");
    }

    fn stop_with(&mut self, mode: &str) {
        if !self.running {
            return;
        }
        let data = self.data_dir();
        let out = self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", mode, "-w", "stop"],
        );
        self.running = false;
        if !out.status.success() {
            self.kill_postmaster();
        }
        if !out.status.success() && !std::thread::panicking() {
            panic!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// The last resort when `pg_ctl stop` fails: SIGKILL the postmaster named in its pid
    /// file, so no server outlives its test.
    fn kill_postmaster(&self) {
        let pid_file = self.data_dir().join("postmaster.pid");
        if let Some(pid) = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|s| s.lines().next().map(str::to_owned))
        {
            let _ = Command::new("kill").args(["-9", pid.trim()]).status();
        }
    }

    /// Stops and starts the server again (a crash restart).
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop_with("immediate");
    }
}
