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

/// Not `Serialize`: it cannot go back to the client.
struct Opaque;

#[actions]
impl Counter {
    async fn opaque(&self, _rpc: &mut Rpc<Self>) -> Result<Opaque, ActorError> {
        Ok(Opaque)
    }
}

fn main() {}
