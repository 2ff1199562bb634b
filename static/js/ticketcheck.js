// Offline ticket checks on the scanner: the Ed25519 signature with the event's public key
// (WebCrypto where the browser has Ed25519, else the vendored noble-ed25519), and the
// revocation list's BLAKE2b digests (vendored noble-hashes), as eventapp/tickets/signer.py makes them.
import { verifyAsync } from "/vendor/noble-ed25519/index.js";
import { blake2b } from "/vendor/noble-hashes/blake2.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_LENGTH = 140;
const PAYLOAD_BYTES = 23;

function base32(text) {
  if (text.length !== SECRET_LENGTH) return null;
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const char of text) {
    const index = ALPHABET.indexOf(char);
    if (index < 0) return null;
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >> bits) & 0xff);
    }
  }
  if ((value & ((1 << bits) - 1)) !== 0) return null; // only the canonical spelling
  return new Uint8Array(bytes);
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function signatureHolds(publicKey, signature, payload) {
  try {
    const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, payload);
  } catch {
    return verifyAsync(signature, payload, publicKey); // no Ed25519 in this browser's WebCrypto
  }
}

/** The claims of a genuine secret of the event whose base64 public key is given, else null. */
export async function verifySecret(secret, publicKeyBase64) {
  const raw = base32(secret);
  if (!raw || raw.length !== 87 || raw[0] !== 1) return null;
  const payload = raw.slice(0, PAYLOAD_BYTES);
  const signature = raw.slice(PAYLOAD_BYTES);
  if (!(await signatureHolds(fromBase64(publicKeyBase64), signature, payload))) return null;
  const view = new DataView(payload.buffer);
  const from = view.getUint32(15);
  const until = view.getUint32(19);
  return {
    ticketId: view.getUint32(1),
    typeId: view.getUint16(5),
    validFrom: from ? new Date(from * 1000) : null,
    validUntil: until ? new Date(until * 1000) : null,
  };
}

/** The digest the revocation list names a secret by (24 hex characters of BLAKE2b). */
export function revocationDigest(secret) {
  const digest = blake2b(new TextEncoder().encode(secret), { dkLen: 12 });
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
