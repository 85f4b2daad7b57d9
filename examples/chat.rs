//! A chat room: one actor per room, per-connection state (who is talking), history in the
//! actor's key-value space (one entry per message), and broadcasts of messages, joins and leaves.
//!
//! A connection's name comes from its identity when the upgrade request was authenticated
//! (`Authorization: Bearer <session token>` or the `flame_session` cookie, checked by
//! flame-auth's session store), else from its `name` param.
//!
//! ```text
//! cargo run --example chat
//! open 'http://localhost:2830/chat.html?name=ada'     # the page: history, members, live messages
//! websocat 'ws://localhost:2830/actors/room/lobby?params={"name":"ada"}'
//! {"v":1,"type":"subscribe","event":"message"}
//! {"v":1,"type":"rpc","id":1,"method":"send","args":["hello"]}
//! ```

use std::path::Path;

use flame_actor::WebSocketIdentity;
use flame_auth::session::SessionStore;
use flame_auth::{Authenticator, WebSocketUserExt};
use flame_core::{Context, Flame, StaticOptions};
use flame_stateful::store::KvScan;
use flame_stateful::transport::{self, TransportConfig};
use flame_stateful::{
    ActorConfig, ActorCtx, ActorError, ActorSystem, ConnectOptions, Connection, InitCtx, Rpc,
    StatefulActor, actions,
};
use serde::{Deserialize, Serialize};

/// How many of the latest messages `history` returns.
pub const HISTORY: usize = 50;

// ANCHOR: types
/// The persisted state: small and hot, how many messages were posted. The messages
/// themselves live in the room's key-value space, one entry each (`msg/00000000000000000042`),
/// so posting one costs one entry however long the history is.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RoomState {
    pub posted: u64,
}

/// The key of message `n`: fixed-width, so keys sort in posting order.
fn message_key(n: u64) -> String {
    format!("msg/{n:020}")
}

/// One message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub from: String,
    pub text: String,
}

/// A connection may name itself when it is not signed in.
#[derive(Debug, Default, Deserialize)]
pub struct ChatParams {
    #[serde(default)]
    pub name: Option<String>,
}

/// Who is behind the connection.
#[derive(Debug, Default)]
pub struct Member {
    pub name: String,
    pub signed_in: bool,
}
// ANCHOR_END: types

// ANCHOR: actor
#[derive(Default)]
pub struct Room;

impl StatefulActor for Room {
    type State = RoomState;
    type ConnParams = Option<ChatParams>;
    type ConnState = Member;

    async fn on_initialize(&self, _ctx: &InitCtx) -> Result<RoomState, ActorError> {
        Ok(RoomState::default())
    }

    async fn on_before_connect(
        &self,
        _ctx: &mut ActorCtx<Self>,
        opts: &ConnectOptions<Option<ChatParams>>,
    ) -> Result<Member, ActorError> {
        // The authenticated user, if the upgrade request carried one ...
        if let Some(user) = flame_auth::user_of(&*opts.caller) {
            return Ok(Member {
                name: user.username.clone(),
                signed_in: true,
            });
        }
        // ... else the name the client chose.
        let name = opts
            .params
            .as_ref()
            .and_then(|p| p.name.as_deref())
            .map(str::trim)
            .unwrap_or_default();
        if name.is_empty() || name.chars().count() > 32 {
            return Err(ActorError::unauthorized(
                "sign in, or connect with a name of 1 to 32 characters",
            ));
        }
        Ok(Member {
            name: format!("{name} (guest)"),
            signed_in: false,
        })
    }

    async fn on_connect(
        &self,
        ctx: &mut ActorCtx<Self>,
        conn: &Connection<Self>,
    ) -> Result<(), ActorError> {
        ctx.broadcast("joined", &conn.state().name);
        Ok(())
    }

    async fn on_disconnect(&self, ctx: &mut ActorCtx<Self>, conn: &Connection<Self>) {
        ctx.broadcast("left", &conn.state().name);
    }
}

#[actions]
impl Room {
    // ANCHOR: kv
    /// Posts `text` as the calling connection; everyone subscribed to `message` gets it.
    async fn send(&self, rpc: &mut Rpc<Self>, text: String) -> Result<usize, ActorError> {
        let Some(from) = rpc.conn().map(|c| c.state().name.clone()) else {
            return Err(ActorError::forbidden("connect to the room to talk"));
        };
        let text = text.trim().to_owned();
        if text.is_empty() || text.len() > 2000 {
            return Err(ActorError::new(
                "chat.bad_message",
                "a message has 1 to 2000 bytes",
            ));
        }
        let message = ChatMessage { from, text };
        rpc.broadcast("message", &message);
        let n = rpc.state().posted;
        // committed with the counter, before the broadcast and the answer go out
        rpc.kv().put(message_key(n), &message)?;
        rpc.state_mut().posted = n + 1;
        Ok(usize::try_from(n + 1).unwrap_or(usize::MAX))
    }

    /// The latest `HISTORY` messages, oldest first.
    async fn history(&self, rpc: &mut Rpc<Self>) -> Result<Vec<ChatMessage>, ActorError> {
        let latest = KvScan::prefix(b"msg/").reverse().limit(HISTORY);
        let mut messages: Vec<ChatMessage> = rpc.kv().scan(latest).await?.values()?;
        messages.reverse();
        Ok(messages)
    }
    // ANCHOR_END: kv

    /// Who is in the room, sorted.
    async fn members(&self, rpc: &mut Rpc<Self>) -> Vec<String> {
        let mut names: Vec<String> = rpc.connections().map(|c| c.state().name.clone()).collect();
        names.sort();
        names
    }
}
// ANCHOR_END: actor

// ANCHOR: app
/// The chat app: rooms at `/actors/room/{name}`, connections authenticated by `sessions`.
pub async fn app(data_dir: &Path, sessions: SessionStore) -> anyhow::Result<(Flame, ActorSystem)> {
    let system = ActorSystem::builder()
        .config(ActorConfig {
            data_dir: data_dir.to_path_buf(),
            ..ActorConfig::default()
        })
        .register_default::<Room>("room")
        .build()
        .await?;
    let auth = Authenticator::new(sessions).cookie("flame_session");
    let mut f = Flame::new();
    f.use_(flame_core::logger());
    // An authenticated upgrade request: its connection carries the user.
    f.use_(move |c: Context| {
        let auth = auth.clone();
        async move {
            match auth.authenticate_headers(c.headers()).await {
                Ok(Some(user)) => c.map(WebSocketIdentity::new(move |conn| {
                    conn.authenticated(user.clone())
                })),
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "a request with an invalid token"),
            }
        }
    });
    // the page (public/chat.html), and the JavaScript client it imports from the transport
    let public = Path::new(env!("CARGO_MANIFEST_DIR")).join("public");
    f.use_(flame_core::static_files(StaticOptions::new(public)));
    f.get("/", |c: Context| c.redirect("/chat.html"));
    transport::mount(&mut f, system.clone(), TransportConfig::default());
    Ok((f, system))
}
// ANCHOR_END: app

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    let sessions = SessionStore::in_memory();
    let (f, system) = app(&data_dir(), sessions).await?;
    let listener = flame_core::server::bind(&flame_core::server::listen_addr()).await?;
    println!("chat listening on http://{}", listener.local_addr()?);
    f.serve(listener).await?;
    system.shutdown().await;
    Ok(())
}

fn data_dir() -> std::path::PathBuf {
    std::env::var_os("FLAME_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(".flame/chat"))
}
