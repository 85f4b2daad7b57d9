//! The [`ResponseWriter`]: the response being built, shared by the whole chain.
//!
//! As in Flamego (and Go's `http.ResponseWriter`), the first [`write_header`](ResponseWriter::write_header)
//! or [`write`](ResponseWriter::write) marks the response as written: its status is fixed, the
//! chain stops after the current handler, and middleware after `c.next()` can read what was sent.

use std::mem;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, StatusCode};
use parking_lot::MappedMutexGuard;
use smallvec::SmallVec;

use crate::context::Context;

type BeforeHook = Box<dyn FnOnce(&ResponseWriter) + Send>;

pub(crate) struct ResponseState {
    status: StatusCode,
    headers: HeaderMap,
    chunks: SmallVec<[Bytes; 1]>,
    stream: Option<Body>,
    pub(crate) written: bool,
    size: usize,
    before: Vec<BeforeHook>,
}

impl Default for ResponseState {
    fn default() -> Self {
        Self {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            chunks: SmallVec::new(),
            stream: None,
            written: false,
            size: 0,
            before: Vec::new(),
        }
    }
}

impl ResponseState {
    pub(crate) fn into_response(mut self) -> Response {
        let body = match self.stream.take() {
            Some(stream) => stream,
            None => match self.chunks.len() {
                0 => Body::empty(),
                1 => Body::from(self.chunks.swap_remove(0)),
                _ => Body::from(self.chunks.concat()),
            },
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

/// The response of the current request, as a cheap handle; inject it as an argument.
///
/// ```
/// use flame_core::{Flame, ResponseWriter, StatusCode};
///
/// let mut f = Flame::new();
/// f.get("/teapot", |w: ResponseWriter| {
///     w.headers_mut().insert("x-kind", "teapot".parse().unwrap());
///     w.write_header(StatusCode::IM_A_TEAPOT);
///     w.write("short and stout");
/// });
/// ```
#[derive(Clone)]
pub struct ResponseWriter(pub(crate) Context);

impl std::fmt::Debug for ResponseWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseWriter")
            .field("status", &self.status())
            .field("written", &self.written())
            .field("size", &self.size())
            .finish()
    }
}

impl ResponseWriter {
    /// The status: the one written, or the one that will be written (200 unless changed).
    pub fn status(&self) -> StatusCode {
        self.0.state().status
    }

    /// Whether the status (and possibly a body) has been written.
    pub fn written(&self) -> bool {
        self.0.written()
    }

    /// How many body bytes have been written (0 for streamed bodies).
    pub fn size(&self) -> usize {
        self.0.state().size
    }

    /// The response headers, to change before anything is written.
    ///
    /// Do not hold the guard across an `.await`: it is a lock (and the compiler refuses it).
    pub fn headers_mut(&self) -> MappedMutexGuard<'_, HeaderMap> {
        parking_lot::MutexGuard::map(self.0.state(), |state| &mut state.headers)
    }

    /// Adds every header of `headers` (replacing same-named ones), unless already written.
    pub fn extend_headers(&self, headers: HeaderMap) {
        let mut state = self.0.state();
        if state.written {
            return;
        }
        let mut last = None;
        for (name, value) in headers {
            if let Some(name) = name {
                state.headers.remove(&name);
                last = Some(name);
            }
            if let Some(name) = &last {
                state.headers.append(name.clone(), value);
            }
        }
    }

    /// Changes the status written when a handler writes a body without choosing one (200
    /// unless changed), as long as nothing was written yet.
    pub fn set_default_status(&self, status: StatusCode) {
        let mut state = self.0.state();
        if !state.written {
            state.status = status;
        }
    }

    /// Registers `hook` to run just before the status is written, e.g. to add a header.
    pub fn before(&self, hook: impl FnOnce(&ResponseWriter) + Send + 'static) {
        self.0.state().before.push(Box::new(hook));
    }

    /// Writes the status. Writing it again is ignored (with a warning), as in Go.
    pub fn write_header(&self, status: StatusCode) {
        let hooks = {
            let mut state = self.0.state();
            if state.written {
                tracing::warn!(%status, already = %state.status, "response status already written");
                return;
            }
            mem::take(&mut state.before)
        };
        for hook in hooks {
            hook(self);
        }
        let mut state = self.0.state();
        state.status = status;
        state.written = true;
        self.0.mark_written();
    }

    /// Appends `body`, writing a 200 status first if none was written.
    pub fn write(&self, body: impl Into<Bytes>) {
        if !self.written() {
            let status = self.status();
            self.write_header(status);
        }
        let body = body.into();
        let mut state = self.0.state();
        if state.stream.is_some() {
            tracing::warn!(
                "response body is a stream; dropping {} appended bytes",
                body.len()
            );
            return;
        }
        state.size += body.len();
        if !body.is_empty() {
            state.chunks.push(body);
        }
    }

    /// Writes status, content type, extra headers and a body in one step: the common case of a
    /// returned value, under one lock unless before-write hooks must run. If the status was
    /// already written, only the body is appended.
    pub(crate) fn write_full(
        &self,
        status: Option<StatusCode>,
        content_type: HeaderValue,
        extra: Option<Box<HeaderMap>>,
        body: Bytes,
    ) {
        let mut state = self.0.state();
        if !state.written {
            state.headers.insert(CONTENT_TYPE, content_type);
            if let Some(extra) = extra {
                drop(state);
                self.extend_headers(*extra);
                state = self.0.state();
            }
            let status = status.unwrap_or(state.status);
            if !state.before.is_empty() {
                drop(state);
                self.write_header(status);
                state = self.0.state();
            } else {
                state.status = status;
                state.written = true;
                self.0.mark_written();
            }
        }
        if state.stream.is_some() {
            tracing::warn!(
                "response body is a stream; dropping {} appended bytes",
                body.len()
            );
            return;
        }
        state.size += body.len();
        if !body.is_empty() {
            state.chunks.push(body);
        }
    }

    /// Writes a complete response: its status, its headers and its (possibly streaming) body.
    /// If a status was already written, only an in-memory body can still be appended.
    pub fn write_response(&self, response: Response) {
        let (parts, body) = response.into_parts();
        if self.written() {
            tracing::warn!(status = %parts.status, "response already written; dropping a returned response");
            return;
        }
        self.extend_headers(parts.headers);
        self.write_header(parts.status);
        let mut state = self.0.state();
        state.chunks.clear();
        state.stream = Some(body);
    }
}
