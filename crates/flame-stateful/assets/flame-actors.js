// flame-actors.js: the JavaScript client of flame's stateful actors (protocol v1).
// A dependency-free ES module, served by the runtime at /actors/client.js.
//
//   import { connect } from "/actors/client.js";
//   const counter = connect("", "counter", "main", { authToken: "alice-token" });
//   counter.on("countUpdated", ({ count }) => console.log(count));
//   const n = await counter.call("increment", 1);
//
// The connection reconnects by itself (exponential backoff with jitter) after a transient
// close (`unavailable`, `internal_error`, `connection_closed`, `message_too_long`, or a
// dropped socket) and subscribes again to every event it has listeners for. A refusal
// (`unauthorized`, `actor_destroyed`, ...) is final: `ready` rejects, calls reject.

const VERSION = 1;
// The longest path and query a flame server reads (hyper's limit): a longer request gets a
// bare 414 before the handshake, so the client refuses it itself, as the server would.
const MAX_REQUEST_TARGET = 65534;
const TRANSIENT = new Set(["unavailable", "internal_error", "connection_closed", "message_too_long"]);

/** An error from the actor or the runtime: `code` is the protocol's stable code. */
export class ActorError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = "ActorError";
    this.code = code;
    this.reason = message;
  }
}

function socketUrl(url, prefix, name, key, params) {
  let base = url;
  if (!base) {
    base = typeof location !== "undefined" ? location.origin : "";
  }
  base = base.replace(/^http(s?):/, "ws$1:").replace(/\/+$/, "");
  let path = `${base}${prefix}/${encodeURIComponent(name)}/${encodeURIComponent(key)}`;
  if (params !== undefined && params !== null) {
    path += `?params=${encodeURIComponent(JSON.stringify(params))}`;
  }
  return path;
}

/** A connection to one actor; see `connect`. */
export class ActorConnection {
  constructor(url, name, key, params, options = {}) {
    this.url = socketUrl(url, options.prefix ?? "/actors", name, key, params);
    this.minDelay = options.minDelay ?? 250;
    this.maxDelay = options.maxDelay ?? 10000;
    this.connId = null;
    this.status = "connecting";
    this.error = null;
    this._nextId = 1;
    this._pending = new Map(); // id -> {resolve, reject}
    this._queue = []; // texts to send once open
    this._listeners = new Map(); // event -> Set(callback)
    this._statusListeners = new Set();
    this._attempt = 0;
    this._closedByUser = false;
    this._socket = null;
    this._timer = null;
    this.ready = new Promise((resolve, reject) => {
      this._resolveReady = resolve;
      this._rejectReady = reject;
    });
    // an unobserved refusal must not be reported as an unhandled rejection
    this.ready.catch(() => {});
    const target = this.url.replace(/^wss?:\/\/[^/]*/, "");
    if (target.length > MAX_REQUEST_TARGET) {
      this._finish(new ActorError("params_too_long",
        `the connection URL's path and params take ${target.length} bytes; a flame server reads at most ${MAX_REQUEST_TARGET}`));
      return;
    }
    this._open();
  }

  /** Calls the action `method` with positional arguments; resolves with its output. */
  call(method, ...args) {
    if (this.status === "closed") {
      return Promise.reject(this.error ?? new ActorError("connection_closed", "the connection is closed"));
    }
    const id = this._nextId++;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject });
      this._send({ v: VERSION, type: "rpc", id, method, args });
    });
  }

  /** Calls `callback(payload)` for every `event`; returns a function that unsubscribes. */
  on(event, callback) {
    let set = this._listeners.get(event);
    if (!set) {
      set = new Set();
      this._listeners.set(event, set);
      this._send({ v: VERSION, type: "subscribe", event });
    }
    set.add(callback);
    return () => {
      const current = this._listeners.get(event);
      if (!current || !current.delete(callback)) return;
      if (current.size === 0) {
        this._listeners.delete(event);
        this._send({ v: VERSION, type: "unsubscribe", event });
      }
    };
  }

  /** Calls `callback(status, error)` on "connecting", "open" and "closed". */
  onStatus(callback) {
    this._statusListeners.add(callback);
    return () => this._statusListeners.delete(callback);
  }

  /** Closes the connection for good. */
  close() {
    this._closedByUser = true;
    clearTimeout(this._timer);
    if (this._socket) this._socket.close(1000, "bye");
    this._finish(new ActorError("connection_closed", "closed by the client"));
  }

  _setStatus(status) {
    this.status = status;
    for (const callback of this._statusListeners) {
      try { callback(status, this.error); } catch (e) { console.error(e); }
    }
  }

  _send(message) {
    const text = JSON.stringify(message);
    if (this._socket && this.status === "open" && this._socket.readyState === 1) {
      this._socket.send(text);
    } else if (message.type === "rpc") {
      // subscriptions are sent again from the listener table on (re)connect
      this._queue.push({ id: message.id, text });
    }
  }

  _open() {
    const socket = new WebSocket(this.url);
    this._socket = socket;
    let closeMessage = null;
    socket.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      switch (msg.type) {
        case "init":
          this.connId = msg.conn_id;
          this._attempt = 0;
          // Subscriptions and queued calls before "open": a call a status listener makes
          // on "open" (reading the state again, say) then reaches the actor after the
          // subscriptions, so no event between the two is missed.
          for (const event of this._listeners.keys()) {
            socket.send(JSON.stringify({ v: VERSION, type: "subscribe", event }));
          }
          for (const { text } of this._queue.splice(0)) socket.send(text);
          this._setStatus("open");
          this._resolveReady(this);
          break;
        case "rpc_ok": {
          const p = this._pending.get(msg.id);
          if (p) { this._pending.delete(msg.id); p.resolve(msg.output); }
          break;
        }
        case "rpc_error": {
          const p = this._pending.get(msg.id);
          if (p) { this._pending.delete(msg.id); p.reject(new ActorError(msg.code, msg.message)); }
          break;
        }
        case "event": {
          const set = this._listeners.get(msg.event);
          if (set) {
            for (const callback of [...set]) {
              try { callback(msg.payload); } catch (err) { console.error(err); }
            }
          }
          break;
        }
        case "error":
          console.warn(`flame-actors: ${msg.code}: ${msg.message}`);
          break;
        case "close":
          closeMessage = msg;
          break;
      }
    };
    socket.onclose = (e) => {
      if (this._socket !== socket) return;
      this._socket = null;
      const code = closeMessage?.code ?? e.reason ?? "";
      const reason = closeMessage?.reason ?? "the connection was lost";
      const error = new ActorError(code || "connection_closed", reason);
      // calls in flight may or may not have run: they fail, and are not retried; calls
      // still queued (never sent) wait for the next connection
      const queued = new Set(this._queue.map((q) => q.id));
      for (const [id, p] of this._pending) {
        if (!queued.has(id)) { this._pending.delete(id); p.reject(error); }
      }
      if (this._closedByUser) return;
      if (code && !TRANSIENT.has(code)) {
        this._finish(error);
        return;
      }
      this._setStatus("connecting");
      const delay = Math.min(this.maxDelay, this.minDelay * 2 ** this._attempt);
      this._attempt += 1;
      this._timer = setTimeout(() => this._open(), delay / 2 + Math.random() * delay / 2);
    };
  }

  _finish(error) {
    if (this.status === "closed") return;
    this.error = error;
    for (const [, p] of this._pending) p.reject(error);
    this._pending.clear();
    this._queue = [];
    this._rejectReady(error);
    this._setStatus("closed");
  }
}

/**
 * Connects to the actor (`name`, `key`) of the flame server at `url` (`ws://host:port`,
 * `http://host:port`, or "" for the page's own origin) with connection `params` (any JSON
 * value). Returns the connection at once; `await conn.ready` to wait for the actor to accept.
 */
export function connect(url, name, key, params, options) {
  return new ActorConnection(url, name, key, params, options);
}
