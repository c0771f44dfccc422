// Prints a new PAK and the hash to store (e.g. as BROKKR__BROKER__PAK_HASH for the admin).
import { mintPak } from "../auth/pak.js";

const { pak, hash } = mintPak();
console.log(`PAK:  ${pak}\nHash: ${hash}`);
