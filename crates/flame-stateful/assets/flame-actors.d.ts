// flame-actors.d.ts: the TypeScript declarations of flame's JavaScript client (protocol v1),
// served beside it at /actors/client.d.ts. An actor's own declarations (its actions and
// events) come from `#[actions]`: `Counter::typescript()` writes a `.d.ts` that exports
// `type Counter`, used as `connect<Counter>(...)`.

/**
 * What a typed connection knows of an actor: its connection params, its actions and the
 * payloads of its events.
 */
export type ActorSchema = {
  params: unknown;
  actions: { [method: string]: (...args: any[]) => unknown };
  events: { [event: string]: unknown };
};

/** An actor without declarations: any action, any arguments, `unknown` results and payloads. */
export type UntypedActor = {
  params: unknown;
  actions: { [method: string]: (...args: any[]) => unknown };
  events: { [event: string]: unknown };
};

/** An error from the actor or the runtime: `code` is the protocol's stable code. */
export class ActorError extends Error {
  constructor(code: string, message: string);
  readonly name: "ActorError";
  /** The protocol's stable code: `unauthorized`, `actor_not_found`, `unavailable`, ... */
  readonly code: string;
  /** The human-readable reason, without the code. */
  readonly reason: string;
}

/** Where a connection is: reconnecting after a transient close is "connecting" again. */
export type ConnectionStatus = "connecting" | "open" | "closed";

export interface ConnectOptions {
  /** The transport's path prefix. Default: "/actors". */
  prefix?: string;
  /** The first reconnection delay in milliseconds. Default: 250. */
  minDelay?: number;
  /** The longest reconnection delay in milliseconds. Default: 10000. */
  maxDelay?: number;
}

/** A connection to one actor; see `connect`. */
export class ActorConnection<A extends ActorSchema = UntypedActor> {
  constructor(url: string, name: string, key: string, params?: A["params"], options?: ConnectOptions);
  readonly url: string;
  readonly status: ConnectionStatus;
  /** Why the connection closed for good, once `status` is "closed". */
  readonly error: ActorError | null;
  /** The id the server gave this connection, once open. */
  readonly connId: number | null;
  /** Resolves once the actor accepted the connection; rejects on a final refusal. */
  readonly ready: Promise<ActorConnection<A>>;
  /** Calls the action `method` with its positional arguments; resolves with its output. */
  call<M extends keyof A["actions"] & string>(
    method: M,
    ...args: Parameters<A["actions"][M]>
  ): Promise<ReturnType<A["actions"][M]>>;
  /** Calls `callback(payload)` for every `event`; returns a function that unsubscribes. */
  on<E extends keyof A["events"] & string>(
    event: E,
    callback: (payload: A["events"][E]) => void,
  ): () => void;
  /** Calls `callback(status, error)` on "connecting", "open" and "closed". */
  onStatus(callback: (status: ConnectionStatus, error: ActorError | null) => void): () => void;
  /** Closes the connection for good. */
  close(): void;
}

/**
 * Connects to the actor (`name`, `key`) of the flame server at `url` (`ws://host:port`,
 * `http://host:port`, or "" for the page's own origin) with connection `params` (any JSON
 * value). Returns the connection at once; `await conn.ready` to wait for the actor to accept.
 */
export function connect<A extends ActorSchema = UntypedActor>(
  url: string,
  name: string,
  key: string,
  params?: A["params"],
  options?: ConnectOptions,
): ActorConnection<A>;
