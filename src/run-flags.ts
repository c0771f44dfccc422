/**
 * The node flags the shipped broker runs with (docker/Dockerfile.broker's CMD, checked by
 * src/build.int.test.ts; bench:delivery runs its broker with them). V8's default young
 * generation grows to 16 MB semi-spaces, and what a burst of connections promotes from it
 * stays resident. With 1 MB, 5,000 idle agents cost 8.0 KB each against the bare-ws server's
 * 7.0 KB (1.14×); with 4 MB 15.2 against 8.2 KB (1.86×). The CPU per delivery of a 5,000-agent
 * fan-out stayed within the machine's noise (26.8 vs 24.1 µs, one run each, bench:delivery).
 */
export const BROKER_NODE_FLAGS = ["--max-semi-space-size=1"];
