//! Calling a flame app in-process for tests.

#![allow(dead_code)]

use axum::body::Body;
use flame_core::{Flame, FlameService};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

pub(crate) async fn send(service: &FlameService, request: http::Request<Body>) -> Answer {
    let response = service.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub(crate) async fn request(service: &FlameService, method: Method, path: &str) -> Answer {
    send(
        service,
        http::Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .expect("request"),
    )
    .await
}

pub(crate) async fn get(service: &FlameService, path: &str) -> (u16, String) {
    let answer = request(service, Method::GET, path).await;
    (answer.status.as_u16(), answer.body)
}

pub(crate) fn service(f: Flame) -> FlameService {
    f.into_service()
}
