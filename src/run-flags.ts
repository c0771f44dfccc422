/**
 * The node flags the shipped broker runs with (docker/Dockerfile.broker's CMD, checked by
 * src/build.int.test.ts; bench:delivery runs its broker with them). V8's default young
 * generation grows to 16 MB semi-spaces: three times that stays resident whether or not it is
 * used. 4 MB kept the CPU per delivery of a 5,000-agent fan-out at the default's (23.7 vs
 * 23.1 µs) where 1 MB cost 34 µs, for about a quarter of the young generation's memory.
 */
export const BROKER_NODE_FLAGS = ["--max-semi-space-size=4"];
