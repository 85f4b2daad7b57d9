//! `/_flame/api/routes`: the route table, paged by position.

use flame_core::{Context, Json, RouteInfo};
use serde_json::{Value, json};

/// One page of the routes: `after` is the index of the last route of the previous page.
pub(super) fn page(table: &[RouteInfo], c: &Context) -> Json<Value> {
    let start = c
        .query("after")
        .parse::<usize>()
        .map_or(0, |after| after.saturating_add(1));
    let limit = super::limit(c);
    let routes: Vec<Value> = table
        .iter()
        .enumerate()
        .skip(start)
        .take(limit)
        .map(|(index, r)| {
            json!({
                "index": index,
                "method": r.method,
                "pattern": r.pattern,
                "handler_count": r.handlers.len(),
                "handlers": r.handlers,
                "middleware": r.middleware,
            })
        })
        .collect();
    let end = start.saturating_add(routes.len());
    let next = (end < table.len() && !routes.is_empty()).then(|| end - 1);
    Json(json!({ "total": table.len(), "routes": routes, "next": next }))
}
