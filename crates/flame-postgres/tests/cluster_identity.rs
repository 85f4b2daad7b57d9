//! A caller's identity crosses the cluster: with `AuthIdentity`, a call made as a flame-auth
//! user on a node that does not own the actor runs on the owner as the same user (id,
//! permissions, claims); with `BasicIdentity` an unknown actor keeps its type and id only.

use std::sync::Arc;

use flame_actor::{Actor, BackendActor};
use flame_auth::{AuthenticatedUser, User};
use flame_postgres::{ClusterOptions, PgCluster, PgStore};
use flame_stateful::cluster::{AuthIdentity, IdentityCodec};
use flame_stateful::transport::TransportConfig;
use flame_stateful::{ActorError, ActorSystem, InitCtx, Rpc, StatefulActor, actions};
use flame_test_support::config;
use flame_test_support::net::Server;
use flame_test_support::pg::PgServer;
use serde_json::{Value, json};

const SECRET: &str = "identity test secret";

/// Answers who called it, as the owner sees the caller.
#[derive(Default)]
struct Whois;

impl StatefulActor for Whois {
    type State = u32;
    type ConnParams = ();
    type ConnState = ();

    async fn on_initialize(&self, _: &InitCtx) -> Result<u32, ActorError> {
        Ok(0)
    }
}

#[actions]
impl Whois {
    async fn whois(&self, rpc: &mut Rpc<Self>) -> Value {
        let caller = rpc.caller();
        let user = flame_auth::user_of(&**caller);
        json!({
            "type": caller.actor_type(),
            "id": caller.actor_id(),
            "user": user.map(|u| &u.username),
            "permissions": user.map(|u| &u.permissions),
            "claims": user.map(|u| &u.claims),
        })
    }
}

fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

struct Node {
    system: ActorSystem,
    server: Server,
}

async fn node(pg: &PgServer, id: &str, identity: Arc<dyn IdentityCodec>) -> Node {
    let addr = free_addr();
    let store = PgStore::connect(&pg.url()).await.unwrap();
    let cluster = PgCluster::join(store.clone(), ClusterOptions::new(id, &addr, SECRET))
        .await
        .unwrap();
    let mut cluster_config = cluster.config();
    cluster_config.identity = identity;
    let system = ActorSystem::builder()
        .config(config())
        .store(store)
        .cluster(cluster_config)
        .register_default::<Whois>("whois")
        .build()
        .await
        .unwrap();
    let server =
        Server::start_with(system.clone(), TransportConfig::default(), |_| {}, &addr).await;
    Node { system, server }
}

fn ada() -> Arc<dyn Actor> {
    let mut user = User::new("u1", "ada");
    user.permissions.insert("posts:write".into());
    user.claims.insert("tenant".into(), json!("acme"));
    Arc::new(AuthenticatedUser::new(user))
}

#[derive(Debug)]
struct ApiToken;

impl Actor for ApiToken {
    fn actor_type(&self) -> &str {
        "api_token"
    }
    fn actor_id(&self) -> Option<String> {
        Some("t-7".into())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forwarded_call_runs_on_the_owner_as_the_same_user() {
    let Some(pg) = PgServer::start() else { return };
    let n1 = node(&pg, "n1", Arc::new(AuthIdentity)).await;
    let n2 = node(&pg, "n2", Arc::new(AuthIdentity)).await;

    // n1 activates the actor; the same call through n2 is forwarded to it.
    let direct = n1
        .system
        .call("whois", "k", "whois", vec![], ada())
        .await
        .unwrap();
    assert!(n1.system.is_loaded("whois", "k"));
    let forwarded = n2
        .system
        .call("whois", "k", "whois", vec![], ada())
        .await
        .unwrap();
    assert!(
        !n2.system.is_loaded("whois", "k"),
        "n2 forwarded, it did not activate"
    );
    assert_eq!(forwarded, direct);
    assert_eq!(forwarded["user"], "ada");
    assert_eq!(forwarded["permissions"], json!(["posts:write"]));
    assert_eq!(forwarded["claims"]["tenant"], "acme");

    // Other actors keep their type and id; the backend stays the backend.
    let token = n2
        .system
        .call("whois", "k", "whois", vec![], Arc::new(ApiToken))
        .await
        .unwrap();
    assert_eq!(
        (&token["type"], &token["id"]),
        (&json!("api_token"), &json!("t-7"))
    );
    assert_eq!(token["user"], Value::Null);
    let backend = n2
        .system
        .call(
            "whois",
            "k",
            "whois",
            vec![],
            Arc::new(BackendActor::new("jobs")),
        )
        .await
        .unwrap();
    assert_eq!(backend["type"], "backend");

    for n in [n1, n2] {
        n.system.shutdown().await;
        n.server.stop().await;
    }
}
