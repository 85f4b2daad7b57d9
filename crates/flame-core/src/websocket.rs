//! WebSocket upgrades from a flame handler, on axum's WebSocket support.
//!
//! [`Context::websocket_upgrade`] checks the handshake and gives axum's [`WebSocketUpgrade`];
//! return its `on_upgrade(..)` response (through [`Axum`](crate::Axum)) and the socket arrives
//! in your callback once the 101 has been sent. `flame-actor` builds its WebSocket endpoints,
//! with identity, heartbeats and JSON messages, on top of this.
//!
//! ```
//! use flame_core::websocket::Message;
//! use flame_core::{Axum, Context, Flame, HttpError};
//!
//! let mut f = Flame::new();
//! f.get("/echo", |c: Context| async move {
//!     let upgrade = c.websocket_upgrade().await?;
//!     Ok::<_, HttpError>(Axum(upgrade.max_message_size(64 * 1024).on_upgrade(|mut socket| async move {
//!         while let Some(Ok(message)) = socket.recv().await {
//!             if let Message::Text(text) = message {
//!                 if socket.send(Message::Text(text)).await.is_err() {
//!                     break;
//!                 }
//!             }
//!         }
//!     })))
//! });
//! ```

/// The error of a WebSocket read or write (axum's; `into_inner` gives the WebSocket
/// implementation's own error).
pub use axum::Error;
use axum::extract::FromRequestParts;
pub use axum::extract::ws::{
    CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code,
};
use axum::response::IntoResponse;

use crate::HttpError;
use crate::context::Context;

/// The largest message (and frame) [`Context::websocket_upgrade`] accepts unless told
/// otherwise: 64 KiB, as `flame-actor`'s endpoints. A larger one fails the read
/// ([`WebSocket::recv`] gives an error) and the connection ends; `flame-actor`'s endpoints
/// also send the close code 1009 first. axum's own default is 64 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// The read and write buffers [`Context::websocket_upgrade`] gives a connection unless told
/// otherwise: 4 KiB each, as `flame-actor`'s endpoints. axum's 128 KiB buffers cost about
/// 130 KiB of memory per connection once it has exchanged a message; these cost about 10.
pub const DEFAULT_BUFFER_SIZE: usize = 4 * 1024;

impl Context {
    /// Checks that this request is a WebSocket handshake and prepares the upgrade, with
    /// messages and frames up to [`DEFAULT_MAX_MESSAGE_SIZE`] and read and write buffers of
    /// [`DEFAULT_BUFFER_SIZE`]; the returned [`WebSocketUpgrade`]'s methods change them.
    ///
    /// # Errors
    ///
    /// The handshake's problem with its status: 405 for a method other than GET, 400 for
    /// missing or wrong upgrade headers, 426 when the connection cannot be upgraded.
    pub async fn websocket_upgrade(&self) -> Result<WebSocketUpgrade, HttpError> {
        let head = &self.inner().parts;
        let mut request = http::Request::new(());
        *request.method_mut() = head.method.clone();
        *request.uri_mut() = head.uri.clone();
        *request.version_mut() = head.version;
        *request.headers_mut() = head.headers.clone();
        if let Some(on_upgrade) = head.extensions.get::<hyper::upgrade::OnUpgrade>() {
            request.extensions_mut().insert(on_upgrade.clone());
        }
        if let Some(protocol) = head.extensions.get::<hyper::ext::Protocol>() {
            request.extensions_mut().insert(protocol.clone());
        }
        let (mut parts, ()) = request.into_parts();
        let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &())
            .await
            .map_err(|rejection| {
                let body = rejection.body_text();
                HttpError::new(rejection.into_response().status(), body)
            })?;
        Ok(upgrade
            .max_message_size(DEFAULT_MAX_MESSAGE_SIZE)
            .max_frame_size(DEFAULT_MAX_MESSAGE_SIZE)
            .read_buffer_size(DEFAULT_BUFFER_SIZE)
            .write_buffer_size(DEFAULT_BUFFER_SIZE))
    }
}
