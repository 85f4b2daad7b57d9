//! The client's background task: owns the socket, matches answers to calls, fans events out
//! to subscriptions, and reconnects.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{ClientConfig, ClientError, ClientStatus};
use flame_protocol::is_transient;
use flame_protocol::{ClientMessage, ErrorCode, ServerMessage, WireError};

pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the handles ask of the task.
#[derive(Debug)]
pub(crate) enum Cmd {
    Call {
        method: String,
        args: Vec<Value>,
        reply: oneshot::Sender<Result<Value, ClientError>>,
    },
    Subscribe {
        event: String,
        id: u64,
        tx: mpsc::UnboundedSender<Value>,
    },
    Unsubscribe {
        event: String,
        id: u64,
    },
    Close {
        done: oneshot::Sender<()>,
    },
}

/// Opens a connection and waits for `init`: the socket and the connection id.
pub(super) async fn open(url: &str, limit: Duration) -> Result<(Socket, u64), ClientError> {
    let attempt = async {
        let (mut socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => match ServerMessage::decode(text.as_str()) {
                    Ok(ServerMessage::Init { conn_id }) => return Ok((socket, conn_id)),
                    Ok(ServerMessage::Close { code, reason }) => {
                        return Err(ClientError::Rejected(WireError {
                            code,
                            message: reason,
                        }));
                    }
                    Ok(_) | Err(_) => {}
                },
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map_or_else(
                        || ErrorCode::ConnectionClosed.as_str().to_owned(),
                        |f| f.reason.as_str().to_owned(),
                    );
                    return Err(ClientError::Rejected(WireError {
                        code,
                        message: String::from("the server closed the connection before init"),
                    }));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(ClientError::Connect(e.to_string())),
                None => {
                    return Err(ClientError::Connect(String::from(
                        "the server closed the connection before init",
                    )));
                }
            }
        }
    };
    tokio::time::timeout(limit, attempt)
        .await
        .map_err(|_| ClientError::Connect(format!("no init within {limit:?}")))?
}

type ReplyTx = oneshot::Sender<Result<Value, ClientError>>;
type Pending = HashMap<u64, ReplyTx>;

pub(super) struct Task {
    url: String,
    config: ClientConfig,
    status: watch::Sender<ClientStatus>,
    subs: HashMap<String, Vec<(u64, mpsc::UnboundedSender<Value>)>>,
    pending: Pending,
    /// Calls made while disconnected, sent after the next `init`.
    queued: Vec<(String, Vec<Value>, ReplyTx)>,
    next_id: u64,
    connects: u64,
}

/// Why a connection ended.
enum Ended {
    /// Reconnect (after the close's code, if any, said it was transient).
    Lost(Option<WireError>),
    /// The handles are gone or asked to close.
    Stop(Option<oneshot::Sender<()>>),
}

impl Task {
    pub(super) fn new(
        url: String,
        config: ClientConfig,
        status: watch::Sender<ClientStatus>,
    ) -> Self {
        Self {
            url,
            config,
            status,
            subs: HashMap::new(),
            pending: HashMap::new(),
            queued: Vec::new(),
            next_id: 1,
            connects: 1,
        }
    }

    /// Handles a command while connected.
    async fn command(&mut self, socket: &mut Socket, cmd: Cmd) -> Result<(), Ended> {
        match cmd {
            Cmd::Call {
                method,
                args,
                reply,
            } => self.send_call(socket, method, args, reply).await,
            Cmd::Subscribe { event, id, tx } => {
                let subs = self.subs.entry(event.clone()).or_default();
                subs.push((id, tx));
                if subs.len() == 1 {
                    send(socket, &ClientMessage::Subscribe { event }).await?;
                }
                Ok(())
            }
            Cmd::Unsubscribe { event, id } => {
                if self.unsubscribe(&event, id) {
                    send(socket, &ClientMessage::Unsubscribe { event }).await?;
                }
                Ok(())
            }
            Cmd::Close { done } => Err(Ended::Stop(Some(done))),
        }
    }

    async fn send_call(
        &mut self,
        socket: &mut Socket,
        method: String,
        args: Vec<Value>,
        reply: oneshot::Sender<Result<Value, ClientError>>,
    ) -> Result<(), Ended> {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, reply);
        send(socket, &ClientMessage::Rpc { id, method, args }).await
    }

    /// Forgets one subscription; true when it was the event's last.
    fn unsubscribe(&mut self, event: &str, id: u64) -> bool {
        let Some(subs) = self.subs.get_mut(event) else {
            return false;
        };
        subs.retain(|(sub, _)| *sub != id);
        if subs.is_empty() {
            self.subs.remove(event);
            return true;
        }
        false
    }

    /// Handles a command while disconnected.
    fn command_offline(&mut self, cmd: Cmd) -> Option<Ended> {
        match cmd {
            Cmd::Call {
                method,
                args,
                reply,
            } => self.queued.push((method, args, reply)),
            Cmd::Subscribe { event, id, tx } => {
                self.subs.entry(event).or_default().push((id, tx));
            }
            Cmd::Unsubscribe { event, id } => {
                self.unsubscribe(&event, id);
            }
            Cmd::Close { done } => return Some(Ended::Stop(Some(done))),
        }
        None
    }

    fn message(&mut self, msg: ServerMessage, close: &mut Option<WireError>) {
        match msg {
            ServerMessage::RpcOk { id, output } => {
                if let Some(reply) = self.pending.remove(&id) {
                    let _ = reply.send(Ok(output));
                }
            }
            ServerMessage::RpcError { id, code, message } => {
                if let Some(reply) = self.pending.remove(&id) {
                    let _ = reply.send(Err(ClientError::Rpc(WireError { code, message })));
                }
            }
            ServerMessage::Event { event, payload } => {
                if let Some(subs) = self.subs.get_mut(&event) {
                    subs.retain(|(_, tx)| tx.send(payload.clone()).is_ok());
                }
            }
            ServerMessage::Error { code, message } => {
                tracing::warn!(code, message, "the actor reported an error");
            }
            ServerMessage::Close { code, reason } => {
                *close = Some(WireError {
                    code,
                    message: reason,
                });
            }
            ServerMessage::Init { .. } => {}
        }
    }

    /// Runs one connection until it ends.
    async fn connected(
        &mut self,
        socket: &mut Socket,
        cmd_rx: &mut mpsc::UnboundedReceiver<Cmd>,
    ) -> Ended {
        let mut close = None;
        loop {
            tokio::select! {
                cmd = cmd_rx.recv() => {
                    let Some(cmd) = cmd else { return Ended::Stop(None) };
                    if let Err(ended) = self.command(socket, cmd).await {
                        return match ended {
                            Ended::Lost(_) => Ended::Lost(close),
                            stop => stop,
                        };
                    }
                }
                frame = socket.next() => match frame {
                    Some(Ok(Message::Text(text))) => match ServerMessage::decode(text.as_str()) {
                        Ok(msg) => self.message(msg, &mut close),
                        Err(e) => tracing::warn!(error = %e, "an undecodable message from the server"),
                    },
                    Some(Ok(Message::Close(frame))) => {
                        if close.is_none() {
                            close = frame.map(|f| WireError {
                                code: f.reason.as_str().to_owned(),
                                message: String::from("the server closed the connection"),
                            }).filter(|e| !e.code.is_empty());
                        }
                        return Ended::Lost(close);
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return Ended::Lost(close),
                },
            }
        }
    }

    fn fail_pending(&mut self, error: &ClientError) {
        for (_, reply) in self.pending.drain() {
            let _ = reply.send(Err(error.clone()));
        }
    }

    fn finish(&mut self, error: ClientError) {
        self.fail_pending(&error);
        for (_, _, reply) in self.queued.drain(..) {
            let _ = reply.send(Err(error.clone()));
        }
        // dropping the senders ends every subscription's stream
        self.subs.clear();
        self.status.send_replace(ClientStatus::Closed(error));
    }

    /// Reconnects with backoff; `Err` when the client should stop.
    async fn reconnect(
        &mut self,
        cmd_rx: &mut mpsc::UnboundedReceiver<Cmd>,
    ) -> Result<Socket, Ended> {
        let mut attempt: u32 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            if self.config.max_attempts.is_some_and(|max| attempt > max) {
                return Err(Ended::Lost(Some(WireError::new(
                    ErrorCode::ConnectionClosed,
                    format!("gave up after {} attempts", attempt - 1),
                ))));
            }
            self.status
                .send_replace(ClientStatus::Reconnecting { attempt });
            let exp = self
                .config
                .initial_backoff
                .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(16)));
            let delay = exp.min(self.config.max_backoff);
            let delay = delay / 2 + delay.mul_f64(rand::random::<f64>() / 2.0);
            let sleep = tokio::time::sleep(delay);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    () = &mut sleep => break,
                    cmd = cmd_rx.recv() => {
                        let Some(cmd) = cmd else { return Err(Ended::Stop(None)) };
                        if let Some(stop) = self.command_offline(cmd) {
                            return Err(stop);
                        }
                    }
                }
            }
            match open(&self.url, self.config.connect_timeout).await {
                Ok((mut socket, conn_id)) => {
                    if self.resume(&mut socket).await.is_err() {
                        continue;
                    }
                    self.connects += 1;
                    tracing::debug!(conn_id, connects = self.connects, "reconnected");
                    self.status.send_replace(ClientStatus::Connected {
                        conn_id,
                        connects: self.connects,
                    });
                    return Ok(socket);
                }
                Err(ClientError::Rejected(e)) if !is_transient(&e.code) => {
                    return Err(Ended::Lost(Some(e)));
                }
                Err(e) => tracing::debug!(error = %e, attempt, "reconnect failed"),
            }
        }
    }

    /// After a reconnect: subscribe again, send the queued calls.
    async fn resume(&mut self, socket: &mut Socket) -> Result<(), Ended> {
        let events: Vec<String> = self.subs.keys().cloned().collect();
        for event in events {
            send(socket, &ClientMessage::Subscribe { event }).await?;
        }
        for (method, args, reply) in std::mem::take(&mut self.queued) {
            self.send_call(socket, method, args, reply).await?;
        }
        Ok(())
    }
}

async fn send(socket: &mut Socket, msg: &ClientMessage) -> Result<(), Ended> {
    socket
        .send(Message::text(msg.encode()))
        .await
        .map_err(|_| Ended::Lost(None))
}

pub(super) async fn run(
    mut task: Task,
    mut socket: Socket,
    mut cmd_rx: mpsc::UnboundedReceiver<Cmd>,
) {
    loop {
        let ended = task.connected(&mut socket, &mut cmd_rx).await;
        let error = match ended {
            Ended::Stop(done) => {
                let _ = socket.close(None).await;
                task.finish(ClientError::closed());
                if let Some(done) = done {
                    let _ = done.send(());
                }
                return;
            }
            Ended::Lost(close) => close,
        };
        let lost = ClientError::Closed(error.clone().unwrap_or_else(|| {
            WireError::new(ErrorCode::ConnectionClosed, "the connection was lost")
        }));
        task.fail_pending(&lost);
        if let Some(error) = error.filter(|e| !is_transient(&e.code)) {
            task.finish(ClientError::Closed(error));
            return;
        }
        socket = match task.reconnect(&mut cmd_rx).await {
            Ok(socket) => socket,
            Err(Ended::Stop(done)) => {
                task.finish(ClientError::closed());
                if let Some(done) = done {
                    let _ = done.send(());
                }
                return;
            }
            Err(Ended::Lost(error)) => {
                task.finish(ClientError::Closed(error.unwrap_or_else(|| {
                    WireError::new(ErrorCode::ConnectionClosed, "the connection was lost")
                })));
                return;
            }
        };
    }
}
