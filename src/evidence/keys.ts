import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";

/** Signs canonical evidence bytes with one Ed25519 key; `keyId` names it in every packet. */
export interface EvidenceSigner {
  readonly keyId: string;
  readonly publicKeyPem: string;
  /** Base64 Ed25519 signature over the UTF-8 bytes of `canonical`. */
  sign(canonical: string): string;
}

/** First 16 hex digits of the SHA-256 of the public key's SPKI DER. */
export function signingKeyId(publicKey: KeyObject): string {
  return createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex")
    .slice(0, 16);
}

export function signerFromPrivateKey(privateKey: KeyObject): EvidenceSigner {
  if (privateKey.asymmetricKeyType !== "ed25519") throw new Error("evidence signing keys are Ed25519");
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: signingKeyId(publicKey),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    sign: (canonical) => sign(null, Buffer.from(canonical, "utf8"), privateKey).toString("base64"),
  };
}

export function signerFromPem(pkcs8Pem: string): EvidenceSigner {
  return signerFromPrivateKey(createPrivateKey({ key: pkcs8Pem, format: "pem" }));
}

/** A fresh key pair: the signer and the private key as PKCS#8 PEM (to be sealed before it is stored). */
export function generateSigner(): { signer: EvidenceSigner; privateKeyPem: string } {
  const { privateKey } = generateKeyPairSync("ed25519");
  return {
    signer: signerFromPrivateKey(privateKey),
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}
