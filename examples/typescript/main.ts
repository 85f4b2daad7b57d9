// A typed client of the `counter` example. `tsc --strict` checks every call, event and
// connection param against counter.d.ts, which `Counter::typescript()` wrote from the
// actor's `#[actions]`; client.d.ts is the JavaScript client's own declarations
// (served at /actors/client.d.ts).
//
//   node --experimental-websocket out/main.js http://127.0.0.1:2830
import { connect } from "./client.js";
import type { Counter, CountUpdated } from "./counter.js";

declare const process: { argv: string[] };

const url = process.argv[2] ?? "http://localhost:2830";
const counter = connect<Counter>(url, "counter", "typed", { auth_token: "alice-token" });
const updates: number[] = [];
counter.on("countUpdated", (update: CountUpdated) => {
  updates.push(update.count);
});
await counter.ready;
const first: number = await counter.call("increment", 2);
const second: number = await counter.call("increment");
const now: number = await counter.call("get_count");
counter.close();
console.log(JSON.stringify({ first, second, now, updates }));

// Never called: each statement is an error tsc must report. An `@ts-expect-error` above a
// line that type-checks is itself an error, so a declaration too loose to catch one of
// these fails the check.
export function mistakes(): void {
  // @ts-expect-error `increment` takes a number (or nothing), not a string
  void counter.call("increment", "2");
  // @ts-expect-error there is no action `decrement`
  void counter.call("decrement");
  // @ts-expect-error `get_count` takes no argument
  void counter.call("get_count", 1);
  // @ts-expect-error `get_count` resolves with a number
  void counter.call("get_count").then((n: string) => n);
  // @ts-expect-error `countUpdated` carries `{ count: number }`
  counter.on("countUpdated", (update: { total: number }) => update);
  // @ts-expect-error the counter broadcasts no `reset`
  counter.on("reset", () => {});
  // @ts-expect-error the connection params are `{ auth_token: string }`
  connect<Counter>(url, "counter", "typed", { token: "alice-token" });
}
