import type { Duplex } from "node:stream";
import { Counter, Gauge, type Registry } from "prom-client";
import { refuseUpgrade } from "./upgrade.js";

/**
 * Starts one admitted upgrade with the bytes the client sent after its request (`head`, as the
 * HTTP server's upgrade event gives them); `release` gives its place back once it authenticated.
 */
export type Admit = (head: Buffer, release: () => void) => void;

interface Waiting {
  socket: Duplex;
  head: Buffer;
  admit: Admit;
  timer: NodeJS.Timeout;
  gone: () => void;
  early: (chunk: Buffer) => void;
}

/** What a waiting client may send before its upgrade is answered (clients send nothing). */
const MAX_EARLY_BYTES = 16 * 1024;

/**
 * The one cap on websocket upgrades that have not authenticated yet, across every websocket
 * path of the broker. Past it, further upgrades wait unanswered, first come first served, until
 * a place frees: a reconnect storm of thousands of agents is then served in order instead of
 * refused and retried (10,000 agents reconnecting at once had opened 25,790 sockets, each refusal
 * costing an upgrade, a close and a client's backoff; bench:delivery prints the count). A waiting
 * upgrade holds only its socket and parsed request; the socket is read only to see a client that
 * leaves (what it sends is kept for ws, up to MAX_EARLY_BYTES). Past `maxWaiting` waiting, or
 * after `maxWaitMs`, an upgrade is refused with 503 and Retry-After.
 */
export class UpgradeGate {
  private admitted = 0;
  /** In arrival order (a Set keeps insertion order, and a socket that leaves is dropped in O(1)). */
  private readonly waiting = new Set<Waiting>();

  private readonly refused?: Counter<"reason">;

  constructor(private readonly opts: { maxUnauthenticated: number; maxWaiting: number; maxWaitMs: number; registry?: Registry }) {
    if (!opts.registry) return;
    const gate = this;
    new Gauge({
      name: "brokkr_websocket_upgrades",
      help: "Websocket upgrades not yet authenticated (state=unauthenticated) and waiting for a place (state=waiting)",
      labelNames: ["state"],
      registers: [opts.registry],
      collect() {
        this.set({ state: "unauthenticated" }, gate.admitted);
        this.set({ state: "waiting" }, gate.waiting.size);
      },
    });
    this.refused = new Counter({
      name: "brokkr_websocket_upgrades_refused_total",
      help: "Websocket upgrades refused with 503: too many waiting (reason=full), or waited too long (reason=timeout)",
      labelNames: ["reason"],
      registers: [opts.registry],
    });
  }

  /** Calls `admit` now, or once a place frees; the place is also given back when the socket closes. */
  enter(socket: Duplex, head: Buffer, admit: Admit): void {
    if (this.admitted < this.opts.maxUnauthenticated && this.waiting.size === 0) return this.start(socket, head, admit);
    if (this.waiting.size >= this.opts.maxWaiting) {
      this.refused?.inc({ reason: "full" });
      return refuseUpgrade(socket, 503);
    }
    const entry: Waiting = {
      socket,
      head,
      admit,
      timer: setTimeout(() => {
        this.leave(entry);
        this.refused?.inc({ reason: "timeout" });
        refuseUpgrade(socket, 503);
      }, this.opts.maxWaitMs),
      // Nobody else listens on a socket between the HTTP server's upgrade event and ws.
      gone: () => {
        this.leave(entry);
        socket.destroy();
      },
      early: (chunk) => {
        entry.head = Buffer.concat([entry.head, chunk]);
        if (entry.head.length > MAX_EARLY_BYTES) entry.gone();
      },
    };
    entry.timer.unref();
    socket.on("error", entry.gone);
    socket.once("close", entry.gone);
    socket.once("end", entry.gone);
    socket.on("data", entry.early);
    this.waiting.add(entry);
  }

  /** At shutdown: every waiting upgrade is refused (admitted ones close with their servers). */
  stop(): void {
    for (const entry of [...this.waiting]) {
      this.leave(entry);
      refuseUpgrade(entry.socket, 503);
    }
  }

  private start(socket: Duplex, head: Buffer, admit: Admit): void {
    this.admitted++;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      socket.off("close", release);
      this.admitted--;
      this.admitNext();
    };
    socket.once("close", release);
    admit(head, release);
  }

  private leave(entry: Waiting): void {
    if (!this.waiting.delete(entry)) return;
    clearTimeout(entry.timer);
    const { socket } = entry;
    socket.off("error", entry.gone);
    socket.off("close", entry.gone);
    socket.off("end", entry.gone);
    socket.off("data", entry.early);
    // As the HTTP server leaves an upgraded socket: not flowing until its next reader listens.
    socket.pause();
    (socket as Duplex & { readableFlowing: boolean | null }).readableFlowing = null;
  }

  private admitNext(): void {
    while (this.admitted < this.opts.maxUnauthenticated) {
      const first = this.waiting.values().next();
      if (first.done) return;
      const entry = first.value;
      this.leave(entry);
      if (!entry.socket.destroyed) this.start(entry.socket, entry.head, entry.admit);
    }
  }
}
