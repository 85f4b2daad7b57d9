//! `/_flame/api/actors`, `/keys`, `/actor` and `/commits`: the stateful actors, their live
//! keys, one actor's committed state and key-value entries (read from the store, never
//! activating it), and the committer's recent transactions.

use flame_core::{Context, Flame, Json, StatusCode};
use flame_stateful::ActorSystem;
use flame_stateful::SystemError;
use flame_stateful::store::KvScan;
use flame_stateful::transport::TransportHandle;
use serde_json::{Value, json};

use super::Inspector;

#[derive(Debug, Clone)]
pub(super) struct Actors {
    system: ActorSystem,
    transport: Option<TransportHandle>,
}

impl Inspector {
    /// Shows this actor system: its kinds, their live keys (loaded or hibernating, with
    /// their mailbox depth), one actor's committed state and key-value entries, and, with
    /// the transport, the open WebSocket connections.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let system = flame_stateful::ActorSystem::builder()
    ///     .store(flame_stateful::store::MemoryStore::new())
    ///     .build()
    ///     .await?;
    /// let mut f = flame_core::Flame::new();
    /// flame_metrics::Inspector::new()
    ///     .env(flame_core::Env::Development)
    ///     .actors(&system, None)
    ///     .mount(&mut f);
    /// assert!(f.route_table().iter().any(|r| r.pattern == "/_flame/api/actor"));
    /// system.shutdown().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn actors(mut self, system: &ActorSystem, transport: Option<&TransportHandle>) -> Self {
        self.actors = Some(Actors {
            system: system.clone(),
            transport: transport.cloned(),
        });
        self
    }
}

type Answer = (StatusCode, Json<Value>);

fn error(status: StatusCode, message: impl std::fmt::Display) -> Answer {
    (status, Json(json!({ "error": message.to_string() })))
}

fn system_error(e: &SystemError) -> Answer {
    match e {
        SystemError::UnknownKind(_) | SystemError::Destroyed(_) => error(StatusCode::NOT_FOUND, e),
        _ => {
            tracing::warn!(error = %e, "the inspector could not read an actor");
            error(StatusCode::INTERNAL_SERVER_ERROR, e)
        }
    }
}

pub(super) fn mount(g: &mut Flame, actors: Option<Actors>) {
    let summary = actors.clone();
    g.get("/api/actors", move || Json(overview(summary.as_ref())));
    let keys = actors.clone();
    g.get("/api/keys", move |c: Context| live_keys(keys.as_ref(), &c));
    let commits = actors.clone();
    g.get("/api/commits", move || {
        Json(recent_commits(commits.as_ref()))
    });
    g.get("/api/actor", move |c: Context| {
        let actors = actors.clone();
        async move { actor(actors.as_ref(), &c).await }
    });
}

fn overview(actors: Option<&Actors>) -> Value {
    let Some(actors) = actors else {
        return json!({ "enabled": false });
    };
    let system = &actors.system;
    let stats = system.commit_stats();
    json!({
        "enabled": true,
        "kinds": system.kinds().collect::<Vec<_>>(),
        "loaded": system.loaded_count(),
        "hibernating": system.hibernating_count(),
        "mailbox_depth": system.mailbox_depth(),
        "connections": actors.transport.as_ref().map(TransportHandle::open_connections),
        "commits": {
            "transactions": stats.transactions,
            "writes": stats.writes,
            "failures": stats.failures,
            "writes_per_transaction": stats.writes_per_transaction(),
        },
        "alarms_fired": system.alarms_fired(),
    })
}

/// The committer's last transactions, newest first; bounded by
/// [`flame_stateful::RECENT_COMMITS`], so never paged.
fn recent_commits(actors: Option<&Actors>) -> Value {
    let Some(actors) = actors else {
        return json!({ "enabled": false, "commits": [] });
    };
    let commits: Vec<Value> = actors
        .system
        .recent_commits()
        .iter()
        .map(|r| {
            json!({
                "at_unix_ms": r.at_unix_ms,
                "writes": r.writes,
                "actors": r.actors,
                "more_actors": r.more_actors,
                "duration_ms": r.duration.as_secs_f64() * 1000.0,
                "ok": r.is_ok(),
                "error": r.error,
            })
        })
        .collect();
    json!({ "enabled": true, "commits": commits })
}

fn live_keys(actors: Option<&Actors>, c: &Context) -> Answer {
    let Some(actors) = actors else {
        return error(StatusCode::NOT_FOUND, "no actor system is shown");
    };
    let name = c.query("name");
    if !actors.system.kinds().any(|k| k == name) {
        return error(
            StatusCode::NOT_FOUND,
            format!("unknown actor kind `{name}`"),
        );
    }
    let after = c.query("after");
    let limit = super::limit(c);
    let page = actors
        .system
        .live_keys(&name, (!after.is_empty()).then_some(after.as_str()), limit);
    let next = (page.len() == limit).then(|| page.last().map(|k| k.key.clone()));
    let keys: Vec<Value> = page
        .iter()
        .map(|k| {
            json!({
                "key": k.key,
                "hibernating": k.hibernating,
                "mailbox": k.mailbox,
                "connections": k.connections,
            })
        })
        .collect();
    (
        StatusCode::OK,
        Json(json!({ "name": name, "keys": keys, "next": next.flatten() })),
    )
}

async fn actor(actors: Option<&Actors>, c: &Context) -> Answer {
    let Some(actors) = actors else {
        return error(StatusCode::NOT_FOUND, "no actor system is shown");
    };
    let (name, key) = (c.query("name"), c.query("key"));
    let start = match c.query("from").as_str() {
        "" => None,
        cursor => match decode_hex(cursor) {
            Some(bytes) => Some(bytes),
            None => return error(StatusCode::BAD_REQUEST, "`from` is not a hex cursor"),
        },
    };
    let system = &actors.system;
    let state = match system.state(&name, &key).await {
        Ok(state) => state.map(|s| json!({ "version": s.version, "value": s.value })),
        Err(e) => return system_error(&e),
    };
    let mut scan = KvScan::all();
    scan.start = start;
    scan.limit = super::limit(c);
    let page = match system.kv_scan(&name, &key, scan).await {
        Ok(page) => page,
        Err(e) => return system_error(&e),
    };
    let entries: Vec<Value> = page
        .entries
        .iter()
        .map(|(k, v)| {
            json!({
                "key": String::from_utf8_lossy(k),
                "key_hex": encode_hex(k),
                "value": serde_json::from_slice::<Value>(v)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(v).into_owned())),
            })
        })
        .collect();
    let next = page
        .next
        .and_then(|scan| scan.start)
        .map(|start| encode_hex(&start));
    (
        StatusCode::OK,
        Json(json!({
            "name": name,
            "key": key,
            "loaded": system.is_loaded(&name, &key),
            "hibernating": system.is_hibernating(&name, &key),
            "state": state,
            "kv": { "entries": entries, "next": next },
        })),
    )
}

fn encode_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    // A cursor is a stored key: longer than any key can be is refused before decoding.
    if !text.len().is_multiple_of(2) || text.len() > 2 * 64 * 1024 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{decode_hex, encode_hex};

    #[test]
    fn cursors_round_trip_through_hex() {
        let bytes = b"\x00key/\xff".to_vec();
        assert_eq!(decode_hex(&encode_hex(&bytes)), Some(bytes));
        assert_eq!(decode_hex("0"), None);
        assert_eq!(decode_hex("zz"), None);
    }
}
