//! `/_flame/api/services`, `/_flame/api/check` and `/_flame/api/server`: the app's mapped
//! services and its startup check, both taken when the inspector is mounted, and the live
//! counters of the server that serves it.

use flame_core::server::ServerStats;
use flame_core::{CheckReport, Context, Json};
use serde_json::{Value, json};

/// One page of the services' type names: `after` is the index of the last name of the
/// previous page.
pub(super) fn services(names: &[&'static str], c: &Context) -> Json<Value> {
    let (services, next) = page(names, c, |_, name| json!(name));
    Json(json!({ "total": names.len(), "services": services, "next": next }))
}

/// The startup check: whether every handler's arguments are provided and, one page at a
/// time, each that is not.
pub(super) fn check(report: &CheckReport, c: &Context) -> Json<Value> {
    let (missing, next) = page(&report.missing, c, |index, m| {
        json!({
            "index": index,
            "route": m.route,
            "handler": m.handler,
            "ordinal": m.ordinal,
            "type": m.type_name,
            "message": m.to_string(),
        })
    });
    Json(json!({
        "ok": report.is_ok(),
        "total": report.missing.len(),
        "missing": missing,
        "next": next,
    }))
}

/// The accept loop's counters, as they are now (all zero and `null` when the app is not
/// served by `serve()`/`run()`, e.g. mounted in another server).
pub(super) fn server(stats: &ServerStats) -> Json<Value> {
    Json(json!({
        "open_connections": stats.open_connections(),
        "accepted": stats.accepted(),
        "refused": stats.refused(),
        "accept_errors": stats.accept_errors(),
        "connection_cap": stats.connection_cap(),
        "open_files_limit": stats.open_files_limit(),
    }))
}

/// Up to the request's `limit` of `items` after the index given as `after`, and the
/// cursor of the next page (`None` on the last).
fn page<T>(
    items: &[T],
    c: &Context,
    show: impl Fn(usize, &T) -> Value,
) -> (Vec<Value>, Option<usize>) {
    let start = c
        .query("after")
        .parse::<usize>()
        .map_or(0, |after| after.saturating_add(1));
    let shown: Vec<Value> = items
        .iter()
        .enumerate()
        .skip(start)
        .take(super::limit(c))
        .map(|(index, item)| show(index, item))
        .collect();
    let end = start.saturating_add(shown.len());
    let next = (end < items.len() && !shown.is_empty()).then(|| end - 1);
    (shown, next)
}
