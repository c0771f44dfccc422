import type { Db } from "../db/client.js";
import { moduleLogger } from "../logger.js";
import type { Cipher } from "../webhooks/crypto.js";
import { type EvidenceSigner, generateSigner, signerFromPem } from "./keys.js";
import { insertSigningKeyIfAbsent, liveGeneratedKey, type SigningKeyRow } from "./store.js";

const log = moduleLogger("evidence");

/** The broker's evidence signing key, loaded (or generated) once on first use. */
export interface EvidenceKeys {
  signer(): Promise<EvidenceSigner>;
}

/** The additional data binding a sealed private key to its row. */
const sealContext = (keyId: string) => `evidence_signing_keys:${keyId}:private_key`;

/**
 * With BROKKR__RELEASES__SIGNING_KEY the broker signs with that key, and publishes its public
 * half in evidence_signing_keys (so old packets stay verifiable after a rotation). Without it,
 * the first broker generates a key and stores it with the private half sealed by the secret
 * keyring (as webhook secrets are); brokers racing to do so insert against a unique index of
 * live generated keys and all re-read the winner, so every broker signs with one key.
 */
export function createEvidenceKeys(db: Db, configuredPem: string | undefined, cipher: () => Promise<Cipher>): EvidenceKeys {
  let loaded: Promise<EvidenceSigner> | undefined;
  const load = async (): Promise<EvidenceSigner> => {
    if (configuredPem) {
      const signer = signerFromPem(configuredPem);
      await insertSigningKeyIfAbsent(db, { id: signer.keyId, publicKeyPem: signer.publicKeyPem, privateKeySealed: null });
      return signer;
    }
    const keyring = await cipher();
    const existing = await liveGeneratedKey(db);
    if (existing) return unseal(existing, keyring);
    const fresh = generateSigner();
    const sealed = keyring.encrypt(fresh.privateKeyPem, sealContext(fresh.signer.keyId));
    await insertSigningKeyIfAbsent(db, {
      id: fresh.signer.keyId,
      publicKeyPem: fresh.signer.publicKeyPem,
      privateKeySealed: sealed,
    });
    const winner = await liveGeneratedKey(db);
    if (!winner) throw new Error("the generated evidence signing key vanished");
    if (winner.id === fresh.signer.keyId) log.info({ keyId: winner.id }, "generated an evidence signing key");
    return unseal(winner, keyring);
  };
  return {
    signer() {
      loaded ??= load().catch((err) => {
        loaded = undefined;
        throw err;
      });
      return loaded;
    },
  };
}

function unseal(row: SigningKeyRow, keyring: Cipher): EvidenceSigner {
  if (!row.privateKeySealed) throw new Error(`evidence signing key ${row.id} has no private key`);
  const signer = signerFromPem(keyring.decrypt(row.privateKeySealed, sealContext(row.id)));
  if (signer.keyId !== row.id) throw new Error(`evidence signing key ${row.id} does not match its private key`);
  return signer;
}
