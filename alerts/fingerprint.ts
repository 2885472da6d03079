/**
 * The identity of a problem: the alert kind plus its *identifying* labels (cell, site, target…), never
 * the ones that change while the problem lasts (severity, cause, users). Repeats of the same problem
 * therefore update one alert instead of raising a new one, and a silence or an ack keeps applying.
 *
 * Pure and dependency-free (no node:crypto: the decisions import `model/` only). The hash is cyrb53's
 * two 32-bit lanes printed as 16 hex digits — not cryptographic, and it need not be: fingerprints are
 * ids, and a collision would need two problems of one kind in one deployment.
 */

/** 16 hex digits over `kind` and the labels named in `identifying` (sorted by name). */
export function fingerprint(
  kind: string,
  labels: Readonly<Record<string, string>>,
  identifying?: readonly string[],
): string {
  const names = [...(identifying ?? Object.keys(labels))].sort();
  let text = kind;
  for (const name of names) text += `\u0000${name}\u0000${labels[name] ?? ''}`;
  return hash64(text);
}

function hash64(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}
