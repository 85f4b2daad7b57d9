// The macro refuses the whole block, so the imports it would have used go unused.
#![allow(unused_imports)]

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

#[actions]
impl Counter {
    #[action(bogus)]
    async fn get(&self, rpc: &mut Rpc<Self>) -> i64 {
        *rpc.state()
    }
}

fn main() {}
