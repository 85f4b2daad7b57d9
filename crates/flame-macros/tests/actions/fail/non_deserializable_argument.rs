use flame_stateful::{ActorError, InitCtx, Rpc, StatefulActor, actions};

#[derive(Default)]
struct Counter;

impl StatefulActor for Counter {
    type State = i64;
    type ConnParams = ();
    type ConnState = ();
    async fn on_initialize(&self, _: &InitCtx) -> Result<i64, ActorError> {
        Ok(0)
    }
}

/// Not `Deserialize`: a client cannot send one.
struct Secret;

#[actions]
impl Counter {
    async fn reveal(&self, rpc: &mut Rpc<Self>, secret: Secret) -> i64 {
        let _ = secret;
        *rpc.state()
    }
}

fn main() {}
