//! Typed handles from `#[actions]`: the real argument and return types, the actor's errors
//! as `CallError`s, and a handler of a flame app calling an actor through one.

use std::collections::HashMap;

use flame_actor::ActorContext;
use flame_core::{Context, Flame};
use flame_stateful::store::MemoryStore;
use flame_stateful::transport::{self, TransportConfig};
use flame_stateful::{
    ActorError, ActorSystem, CallError, Handle, InitCtx, Rpc, StatefulActor, actions,
};
use flame_test_support::TestServer;
use serde::{Deserialize, Serialize};

#[derive(Default)]
struct Board;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Note {
    title: String,
    tags: Vec<String>,
}

#[derive(Clone, Default, Serialize, Deserialize)]
struct State {
    notes: Vec<Note>,
}

impl StatefulActor for Board {
    type State = State;
    type ConnParams = ();
    type ConnState = ();
    async fn on_initialize(&self, _: &InitCtx) -> Result<State, ActorError> {
        Ok(State::default())
    }
}

#[actions]
impl Board {
    /// A struct in, its index out; an error of the actor's own.
    async fn add(&self, rpc: &mut Rpc<Self>, note: Note) -> Result<usize, ActorError> {
        if note.title.is_empty() {
            return Err(ActorError::new("board.empty_title", "a note needs a title"));
        }
        rpc.state_mut().notes.push(note);
        Ok(rpc.state().notes.len() - 1)
    }

    /// An `Option` out, a plain return type.
    async fn get(&self, rpc: &mut Rpc<Self>, index: usize) -> Option<Note> {
        rpc.state().notes.get(index).cloned()
    }

    /// Several arguments, a trailing `Option`, a map out.
    async fn count_tags(
        &self,
        rpc: &mut Rpc<Self>,
        prefix: String,
        limit: Option<usize>,
    ) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for tag in rpc.state().notes.iter().flat_map(|n| &n.tags) {
            if tag.starts_with(&prefix) && limit.is_none_or(|l| counts.len() < l) {
                *counts.entry(tag.clone()).or_insert(0) += 1;
            }
        }
        counts
    }

    /// No arguments, no return value, no `Rpc`; a renamed action.
    #[action(name = "noop")]
    fn nothing(&self) {}

    /// Who is asking.
    async fn caller(&self, rpc: &mut Rpc<Self>) -> String {
        rpc.caller().actor_type().to_owned()
    }

    /// A return type that only serializes: the actor still compiles, and so does every
    /// other typed call; only a typed call of this action would not.
    async fn summary(&self, rpc: &mut Rpc<Self>) -> Summary {
        Summary {
            notes: rpc.state().notes.len(),
        }
    }

    /// Fails with a built-in code.
    async fn admin(&self) -> Result<(), ActorError> {
        Err(ActorError::forbidden("admins only"))
    }
}

#[derive(Serialize)]
struct Summary {
    notes: usize,
}

/// Registered under no name: its handle answers `actor_not_found`.
#[derive(Default)]
struct Stray;

impl StatefulActor for Stray {
    type State = ();
    type ConnParams = ();
    type ConnState = ();
    async fn on_initialize(&self, _: &InitCtx) -> Result<(), ActorError> {
        Ok(())
    }
}

#[actions]
impl Stray {
    async fn ping(&self) -> u8 {
        1
    }
}

async fn system() -> ActorSystem {
    ActorSystem::builder()
        .store(MemoryStore::new())
        .register_default::<Board>("board")
        .build()
        .await
        .expect("system")
}

fn note(title: &str, tags: &[&str]) -> Note {
    Note {
        title: title.to_owned(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
    }
}

#[tokio::test]
async fn a_handle_calls_with_the_actions_own_types() {
    let system = system().await;
    let board = Board::handle(&system, "b1");
    let first = note("milk", &["shop", "food"]);
    assert_eq!(board.add(first.clone()).await.unwrap(), 0);
    assert_eq!(board.add(note("bread", &["shop"])).await.unwrap(), 1);
    assert_eq!(board.get(0).await.unwrap(), Some(first));
    assert_eq!(board.get(7).await.unwrap(), None);
    let counts = board.count_tags("sh".into(), None).await.unwrap();
    assert_eq!(counts, HashMap::from([("shop".to_owned(), 2)]));
    assert_eq!(board.count_tags("".into(), Some(1)).await.unwrap().len(), 1);
    board.nothing().await.unwrap();
    // another key is another instance
    assert_eq!(Board::handle(&system, "b2").get(0).await.unwrap(), None);
    // the typed call and the untyped one reach the same state
    let same: Option<Note> = system
        .call(
            "board",
            "b1",
            "get",
            vec![1.into()],
            board.untyped().caller().clone(),
        )
        .await
        .map(|v| serde_json::from_value(v).unwrap())
        .unwrap();
    assert_eq!(same.unwrap().title, "bread");
    // an action the handle cannot read back is still there, untyped
    let summary = board
        .untyped()
        .call_json("summary", Vec::new())
        .await
        .unwrap();
    assert_eq!(summary, serde_json::json!({"notes": 2}));
    system.shutdown().await;
}

#[tokio::test]
async fn the_actors_errors_come_back_with_their_codes() {
    let system = system().await;
    let board = Board::handle(&system, "b1");
    let err = board.add(note("", &[])).await.unwrap_err();
    assert!(
        matches!(&err, CallError::Actor(e) if e.code == "board.empty_title" && e.message == "a note needs a title")
    );
    assert_eq!(err.code(), "board.empty_title");
    let err = board.admin().await.unwrap_err();
    assert_eq!(err.code(), "forbidden");
    // the refused add left nothing behind
    assert_eq!(board.get(0).await.unwrap(), None);

    let err = Stray::handle(&system, "s").ping().await.unwrap_err();
    assert_eq!(err.code(), "actor_not_found");
    assert!(err.to_string().contains("Stray"), "{err}");
    system.shutdown().await;
}

#[tokio::test]
async fn the_caller_is_local_unless_given() {
    let system = system().await;
    let board = Board::handle(&system, "b1");
    assert_eq!(board.caller().await.unwrap(), "local");
    let as_scheduler = board.with_caller(std::sync::Arc::new(flame_stateful::SchedulerActor));
    assert_eq!(as_scheduler.caller().await.unwrap(), "scheduler");
    // the untyped handle under it
    let n: String = Handle::<Board>::new(&system, "b1")
        .call("caller", Vec::new())
        .await
        .unwrap();
    assert_eq!(n, "local");
    system.shutdown().await;
}

/// A handler takes the mounted system as an argument, calls through the handle on behalf of
/// the request's caller, and `?`s the call: the actor's error is the answer, with its status.
#[tokio::test]
async fn a_handler_calls_an_actor_and_returns_its_errors() {
    let system = system().await;
    let mut f = Flame::new();
    transport::mount(&mut f, system.clone(), TransportConfig::default());
    f.post(
        "/boards/{key}",
        |system: ActorSystem, c: Context| async move {
            let body = c.request().body_bytes().await.unwrap_or_default();
            let note: Note = serde_json::from_slice(&body).map_err(|e| {
                CallError::Actor(flame_stateful::protocol::WireError::new(
                    flame_stateful::protocol::ErrorCode::InvalidArguments,
                    e.to_string(),
                ))
            })?;
            let board = Board::handle(&system, c.param("key")).with_caller(c.actor());
            let index = board.add(note).await?;
            Ok::<_, CallError>(format!("note {index}"))
        },
    );
    f.get(
        "/boards/{key}/caller",
        |system: ActorSystem, c: Context| async move {
            let board = Board::handle(&system, c.param("key")).with_caller(c.actor());
            board.caller().await
        },
    );
    f.get("/admin", |system: ActorSystem| async move {
        Board::handle(&system, "b1").admin().await
    });
    assert!(f.check().is_ok(), "the system is provided to the handlers");
    let server = TestServer::start(f).await;
    let client = reqwest::Client::new();

    let res = client
        .post(server.url("/boards/b1"))
        .body(r#"{"title":"milk","tags":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "note 0");

    let res = client
        .post(server.url("/boards/b1"))
        .body(r#"{"title":"","tags":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"error": {"code": "board.empty_title", "message": "a note needs a title"}})
    );

    let res = client.get(server.url("/admin")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "forbidden"
    );

    let res = client
        .get(server.url("/boards/b1/caller"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), flame_core::DEFAULT_ACTOR_TYPE);

    // what the handler stored is what the actor holds
    let stored = Board::handle(&system, "b1").get(0).await.unwrap();
    assert_eq!(stored.map(|n| n.title).as_deref(), Some("milk"));
    server.stop().await;
    system.shutdown().await;
}
