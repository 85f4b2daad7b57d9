//! The identity module: built-in actors, the task-local scope, `require_actor`.

use std::sync::Arc;
use std::time::Duration;

use flame_actor::identity::{
    ActorScope, actor_scope, current_actor, default_actor, spawn_as, spawn_with_current_actor,
    try_current_actor, with_actor,
};
use flame_actor::{
    Actor, ActorContext, BackendActor, CurrentActor, IdentityError, WebSocketActor, require_actor,
    require_actor_ref,
};

fn conn(id: &str) -> Arc<dyn Actor> {
    Arc::new(WebSocketActor::builder(id).build())
}

fn id_of(actor: &Arc<dyn Actor>) -> Option<String> {
    actor.actor_id()
}

#[test]
fn backend_is_the_default_outside_any_scope() {
    let actor = current_actor();
    assert!(actor.is::<BackendActor>());
    assert_eq!(actor.actor_type(), "backend");
    assert_eq!(id_of(&actor).as_deref(), Some(BackendActor::DEFAULT_NAME));
    assert!(try_current_actor().is_none());
    assert!(!ActorScope::is_active());
    assert!(Arc::ptr_eq(&default_actor(), &current_actor()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_survives_await_points_and_thread_hops() {
    let seen = actor_scope(conn("c1"), async {
        let mut seen = Vec::new();
        for _ in 0..20 {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
            seen.push(id_of(&current_actor()));
        }
        seen
    })
    .await;
    assert!(
        seen.iter().all(|id| id.as_deref() == Some("c1")),
        "{seen:?}"
    );
    assert!(current_actor().is::<BackendActor>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_scopes_do_not_mix() {
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            tokio::spawn(actor_scope(conn(&format!("c{i}")), async move {
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                    assert_eq!(id_of(&current_actor()), Some(format!("c{i}")));
                }
                i
            }))
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap(), i);
    }
}

#[tokio::test]
async fn nested_scopes_shadow_and_restore() {
    actor_scope(conn("outer"), async {
        assert_eq!(id_of(&current_actor()).as_deref(), Some("outer"));
        actor_scope(Arc::new(BackendActor::new("inner")), async {
            tokio::task::yield_now().await;
            assert_eq!(id_of(&current_actor()).as_deref(), Some("inner"));
        })
        .await;
        assert_eq!(id_of(&current_actor()).as_deref(), Some("outer"));
    })
    .await;
}

#[tokio::test]
async fn plain_tokio_spawn_does_not_inherit_the_scope() {
    let inner = actor_scope(conn("c1"), async {
        tokio::spawn(async { current_actor() }).await.unwrap()
    })
    .await;
    assert!(inner.is::<BackendActor>(), "{inner:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_as_and_spawn_with_current_actor_carry_identity() {
    let job = spawn_as(Arc::new(BackendActor::new("scheduler")), async {
        tokio::time::sleep(Duration::from_millis(2)).await;
        current_actor()
    });
    assert_eq!(id_of(&job.await.unwrap()).as_deref(), Some("scheduler"));

    let (direct, nested) = actor_scope(conn("c2"), async {
        let direct = spawn_with_current_actor(async {
            tokio::task::yield_now().await;
            current_actor()
        });
        // The captured actor keeps following through a second spawn.
        let nested = spawn_with_current_actor(async {
            spawn_with_current_actor(async { current_actor() })
                .await
                .unwrap()
        });
        (direct.await.unwrap(), nested.await.unwrap())
    })
    .await;
    assert_eq!(id_of(&direct).as_deref(), Some("c2"));
    assert_eq!(id_of(&nested).as_deref(), Some("c2"));

    // Outside any scope the spawned task gets the default backend actor.
    let outside = spawn_with_current_actor(async { current_actor() })
        .await
        .unwrap();
    assert!(outside.is::<BackendActor>());
}

#[test]
fn with_actor_sets_the_actor_for_synchronous_code() {
    let seen = with_actor(conn("sync"), || {
        (ActorScope::is_active(), ActorScope.actor().actor_id())
    });
    assert_eq!(seen, (true, Some("sync".to_owned())));
    assert!(!ActorScope::is_active());
}

#[tokio::test]
async fn require_actor_from_every_context() {
    let ws: Arc<dyn Actor> = conn("c3");
    let from_arc: Arc<WebSocketActor> = require_actor(&ws).unwrap();
    assert_eq!(from_arc.connection_id(), "c3");

    let current = CurrentActor(ws.clone());
    assert!(require_actor::<WebSocketActor>(&current).is_ok());

    let typed = Arc::new(BackendActor::new("startup"));
    assert_eq!(
        require_actor::<BackendActor>(&typed).unwrap().name(),
        "startup"
    );

    let from_scope = actor_scope(ws.clone(), async {
        require_actor::<WebSocketActor>(&ActorScope)
    })
    .await
    .unwrap();
    assert!(
        Arc::ptr_eq(&from_scope, &from_arc),
        "the same shared actor, not a copy"
    );

    assert!(require_actor::<BackendActor>(&ActorScope).is_ok());
}

#[test]
fn require_actor_names_expected_and_actual_types() {
    let backend: Arc<dyn Actor> = Arc::new(BackendActor::new("scheduler"));
    let err = require_actor::<WebSocketActor>(&backend).unwrap_err();
    assert_eq!(
        err,
        IdentityError::WrongType {
            expected: "flame_actor::identity::websocket::WebSocketActor",
            actual: "flame_actor::identity::backend::BackendActor",
            actual_type: "backend".into(),
        }
    );
    let message = err.to_string();
    assert!(message.contains("WebSocketActor"), "{message}");
    assert!(message.contains("BackendActor"), "{message}");
    assert!(message.contains("\"backend\""), "{message}");

    let borrowed: &dyn Actor = &*backend;
    assert!(require_actor_ref::<WebSocketActor>(borrowed).is_err());
    assert_eq!(
        require_actor_ref::<BackendActor>(borrowed).unwrap().name(),
        "scheduler"
    );
}

#[test]
fn websocket_actor_snapshot_and_extensions() {
    #[derive(Clone, Debug, PartialEq)]
    struct Tenant(&'static str);

    let addr = "127.0.0.1:4000".parse().unwrap();
    let anonymous = WebSocketActor::builder("c4")
        .peer_addr(addr)
        .metadata("client", "web")
        .build();
    assert_eq!(anonymous.actor_type(), "websocket");
    assert_eq!(anonymous.actor_id().as_deref(), Some("c4"));
    assert_eq!(anonymous.peer_addr(), Some(addr));

    let tagged = anonymous.to_builder().extension(Tenant("acme")).build();
    let as_dyn: &dyn Actor = &tagged;
    assert_eq!(as_dyn.extension::<Tenant>(), Some(&Tenant("acme")));
    assert_eq!(tagged.metadata("client"), Some("web"));
    assert_eq!(tagged.connected_at(), anonymous.connected_at());
    // The earlier snapshot is untouched.
    assert_eq!((&anonymous as &dyn Actor).extension::<Tenant>(), None);
    // Actors without extensions answer None.
    assert_eq!(
        (&BackendActor::default() as &dyn Actor).extension::<Tenant>(),
        None
    );

    let debug = format!("{tagged:?}");
    assert!(
        debug.contains("c4") && debug.contains("extensions: 1"),
        "{debug}"
    );
}

#[test]
fn downcast_arc_gives_the_arc_back_on_mismatch() {
    let actor: Arc<dyn Actor> = Arc::new(BackendActor::new("x"));
    let back = actor.clone().downcast_arc::<WebSocketActor>().unwrap_err();
    assert!(Arc::ptr_eq(&back, &actor));
    assert!(actor.downcast_arc::<BackendActor>().is_ok());
}
