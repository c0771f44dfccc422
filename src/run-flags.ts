/**
 * The node flags the shipped broker runs with (docker/Dockerfile.broker's CMD, checked by
 * src/build.int.test.ts; bench:api and bench:delivery run their broker with them): none now.
 * `--max-semi-space-size=1` was chosen for idle memory per agent while the bench's GC call ran
 * only a scavenge (bench/gc.ts). Read after a real full GC it saved nothing: 10,000 idle agents
 * cost 10.4 KB each with it and 9.7 KB without (BENCH_ONLY_MEMORY=1, back to back), while it cost
 * the write path about 0.2 ms of CPU per mutation (0.89 against 0.59–0.83 ms, bench:api) and the
 * fan-out its young generation: one object to 1,000 agents allocates more than a 1 MB semi-space.
 */
export const BROKER_NODE_FLAGS: string[] = [];

/**
 * The broker's listen backlog (src/app.ts), which bench:delivery's bare server uses too so both
 * meet the same accept queue. Linux caps it at net.core.somaxconn (4096 here); Node's 511
 * overflowed in reconnect storms of thousands of agents.
 */
export const LISTEN_BACKLOG = 8192;
