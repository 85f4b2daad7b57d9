//! A todo JSON API: an injected store next to typed bodies and query strings, as plain
//! handler arguments; the new todo validated (`Valid<Json<T>>`).
//!
//! ```text
//! cargo run --example todos
//! curl -X POST localhost:2830/todos -H 'content-type: application/json' -d '{"title":"milk"}'
//! curl 'localhost:2830/todos?done=false'
//! curl -X POST localhost:2830/todos -H 'content-type: application/json' -d '{}'   # 422
//! curl -X POST localhost:2830/todos -H 'content-type: application/json' -d '{"title":" "}'
//! # 422 {"error":{"code":"validation_failed","message":"1 field is not valid",
//! #       "fields":[{"path":"title","code":"blank","message":"the title is empty"}]}}
//! ```

use flame_core::{Flame, HttpError, Json, Query, StatusCode, Valid};
use serde::{Deserialize, Serialize};
use store::Store;
use validator::{Validate, ValidationError};

/// The store: a service mapped once, injected by type.
mod store {
    use std::sync::{Arc, Mutex};

    use super::Todo;

    #[derive(Clone, Default)]
    pub struct Store(Arc<Mutex<Vec<Todo>>>);

    impl Store {
        pub fn add(&self, title: String) -> Todo {
            let mut todos = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let todo = Todo {
                id: todos.len() as u64 + 1,
                title,
                done: false,
            };
            todos.push(todo.clone());
            todo
        }

        pub fn list(&self, done: Option<bool>) -> Vec<Todo> {
            let todos = self.0.lock().unwrap_or_else(|e| e.into_inner());
            todos
                .iter()
                .filter(|t| done.is_none_or(|done| t.done == done))
                .cloned()
                .collect()
        }

        pub fn finish(&self, id: u64) -> Option<Todo> {
            let mut todos = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let todo = todos.iter_mut().find(|t| t.id == id)?;
            todo.done = true;
            Some(todo.clone())
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Todo {
    pub id: u64,
    pub title: String,
    pub done: bool,
}

// ANCHOR: handlers
#[derive(Deserialize, Validate)]
struct NewTodo {
    #[validate(length(max = 200), custom(function = "not_blank"))]
    title: String,
}

fn not_blank(title: &str) -> Result<(), ValidationError> {
    if title.trim().is_empty() {
        return Err(ValidationError::new("blank").with_message("the title is empty".into()));
    }
    Ok(())
}

#[derive(Deserialize)]
struct Filter {
    done: Option<bool>,
}

#[derive(Deserialize)]
struct Finish {
    id: u64,
}

pub fn app() -> Flame {
    let mut f = Flame::new();
    f.map(Store::default());
    // the body is read and validated before the handler runs: a bad one gets 415/400/422
    f.post(
        "/todos",
        |store: Store, Valid(Json(new)): Valid<Json<NewTodo>>| {
            (StatusCode::CREATED, Json(store.add(new.title)))
        },
    );
    f.get("/todos", |store: Store, Query(filter): Query<Filter>| {
        Json(store.list(filter.done))
    });
    f.post("/todos/done", |store: Store, Json(finish): Json<Finish>| {
        store
            .finish(finish.id)
            .map(Json)
            .ok_or_else(|| HttpError::not_found("no such todo"))
    });
    f
}
// ANCHOR_END: handlers

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    app().run()?;
    Ok(())
}
