// Live updates: one timer polls the database's version (SQLite's data_version and the file's
// identity: a pragma and a stat, every 250 ms) and tells every open page over server-sent events
// when it changed; the page then re-fetches what it shows. No page polls the database itself.

import type { Store } from "./store";

const POLL_MS = 250;
const KEEPALIVE_MS = 15_000;
const encoder = new TextEncoder();

export class Live {
  private readonly clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  private version: string;
  private readonly timer: Timer;
  private readonly keepalive: Timer;

  constructor(private readonly store: Store) {
    this.version = store.version();
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.keepalive = setInterval(() => this.send(": keepalive\n\n"), KEEPALIVE_MS);
  }

  /** The version answers are cached under: changes with every commit to the database. */
  current(): string {
    return this.version;
  }

  private poll() {
    let v: string;
    try {
      v = this.store.version();
    } catch {
      return; // the file is being replaced: the next poll reads the new one
    }
    if (v === this.version) return;
    this.version = v;
    this.send(`event: change\ndata: ${v}\n\n`);
  }

  private send(text: string) {
    const bytes = encoder.encode(text);
    for (const c of this.clients) {
      try {
        c.enqueue(bytes);
      } catch {
        this.clients.delete(c);
      }
    }
  }

  /** An event stream for one page: `change` events with the new version. */
  stream(): Response {
    let me: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        me = c;
        this.clients.add(c);
        c.enqueue(encoder.encode(`retry: 1000\nevent: hello\ndata: ${this.version}\n\n`));
      },
      cancel: () => {
        this.clients.delete(me);
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-store" } });
  }

  get listeners(): number {
    return this.clients.size;
  }

  stop() {
    clearInterval(this.timer);
    clearInterval(this.keepalive);
    for (const c of this.clients) c.close();
    this.clients.clear();
  }
}
