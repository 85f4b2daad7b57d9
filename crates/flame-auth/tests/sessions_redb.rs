//! Sessions in a redb file over real HTTP: a restart (a new store and a new server on the
//! same file) signs nobody out, and revocations survive it too.

use flame_auth::refresh::RefreshTokens;
use flame_auth::session::{RedbSessionBackend, SessionBackend, SessionStore};
use flame_auth::{Authenticator, CurrentUser, User, authenticate, require_user};
use flame_core::Flame;
use tokio::sync::oneshot;

struct Server {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), flame_core::ServeError>>>,
}

impl Server {
    async fn start(sessions: SessionStore) -> Self {
        let mut f = Flame::new();
        f.use_(authenticate(
            Authenticator::new(sessions).cookie("flame_session"),
        ));
        f.get(
            "/me",
            (require_user(()), |user: CurrentUser| user.username.clone()),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(f.serve_with_shutdown(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server and waits until the app (and the store it holds) is dropped.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    async fn me(&self, token: &str) -> u16 {
        reqwest::Client::new()
            .get(format!("http://{}/me", self.addr))
            .header("cookie", format!("flame_session={token}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[tokio::test]
async fn a_restart_signs_nobody_out_and_forgets_no_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.redb");

    let (ada, bob, ada_refresh) = {
        let sessions = SessionStore::new(RedbSessionBackend::open(&path).unwrap());
        let server = Server::start(sessions.clone()).await;
        let ada = sessions.create(User::new("u1", "ada")).await.unwrap();
        let bob = sessions.create(User::new("u2", "bob")).await.unwrap();
        assert_eq!(server.me(ada.token()).await, 200);
        assert_eq!(server.me(bob.token()).await, 200);
        assert_eq!(sessions.revoke_user("u2").await.unwrap(), 1);
        assert_eq!(server.me(bob.token()).await, 401);
        let refresh =
            RefreshTokens::new(RedbSessionBackend::open(dir.path().join("refresh.redb")).unwrap());
        let ada_refresh = refresh.issue(User::new("u1", "ada")).await.unwrap();
        server.stop().await;
        (ada, bob, ada_refresh)
        // Server, stores and databases dropped here: the "process" ends.
    };

    let backend = RedbSessionBackend::open(&path).unwrap();
    let sessions = SessionStore::new(backend.clone());
    let server = Server::start(sessions.clone()).await;
    assert_eq!(server.me(ada.token()).await, 200, "still signed in");
    assert_eq!(server.me(bob.token()).await, 401, "still signed out");
    let refresh =
        RefreshTokens::new(RedbSessionBackend::open(dir.path().join("refresh.redb")).unwrap());
    let (user, _) = refresh.rotate(ada_refresh.token()).await.unwrap();
    assert_eq!(user.username, "ada");
    assert!(
        refresh.rotate(ada_refresh.token()).await.is_err(),
        "spent stays spent"
    );

    // Expired sessions are purged from the file.
    assert_eq!(
        backend
            .purge_expired(
                std::time::SystemTime::now() + std::time::Duration::from_secs(365 * 24 * 3600)
            )
            .await
            .unwrap(),
        2
    );
    assert_eq!(server.me(ada.token()).await, 401);
}
