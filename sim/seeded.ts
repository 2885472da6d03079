/**
 * Seeded randomness of two kinds. Topology is drawn once from a sequential generator (order does not
 * matter there). Everything over time — load noise, incidents, complaints — comes from a stateless
 * hash of (seed, stream, keys...), so any minute, day or complaint can be computed on its own and a
 * value never depends on what was computed before it.
 */

/** murmur3's finaliser: a bijection on 32-bit integers with good avalanche. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of a seed, a stream (what the number is for) and up to four integer keys. */
export function hash(seed: number, stream: number, a = 0, b = 0, c = 0, d = 0): number {
  let h = fmix((seed | 0) ^ 0x9e3779b9);
  h = fmix(h ^ Math.imul(stream | 0, 0x27d4eb2f));
  h = fmix(h ^ (a | 0));
  h = fmix((h + 0x6b43a9b5) ^ (b | 0));
  h = fmix((h + 0x165667b1) ^ (c | 0));
  h = fmix((h + 0x5bd1e995) ^ (d | 0));
  return h;
}

/** Uniform in [0, 1). */
export function unit(seed: number, stream: number, a = 0, b = 0, c = 0, d = 0): number {
  return hash(seed, stream, a, b, c, d) / 4294967296;
}

/** Standard normal (Box–Muller from two independent hashes). */
export function normal(seed: number, stream: number, a = 0, b = 0, c = 0): number {
  const u1 = (hash(seed, stream, a, b, c, 1) + 1) / 4294967297;
  const u2 = hash(seed, stream, a, b, c, 2) / 4294967296;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Poisson-distributed count for mean `lambda` from one uniform (inverse CDF; normal above 60). */
export function poisson(lambda: number, u: number): number {
  if (!(lambda > 0)) return 0;
  if (lambda > 60) {
    // Acklam-free approximation is enough here: a rough normal quantile via the logit.
    const z = Math.log(u / (1 - u)) * 0.5513;
    return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * z));
  }
  let k = 0;
  let p = Math.exp(-lambda);
  let cdf = p;
  while (u > cdf && k < 1000) {
    k++;
    p *= lambda / k;
    cdf += p;
  }
  return k;
}

/** FNV-1a of a string: turns an incident id into a hash key. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small seeded generator of numbers in [0, 1), the same sequence for the same seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The sequential generator for the one-off topology draw. */
export class Sequence {
  readonly next: () => number;
  constructor(seed: number, stream: number) {
    this.next = mulberry32(hash(seed, stream));
  }
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(lo: number, hiInclusive: number): number {
    return lo + Math.floor(this.next() * (hiInclusive - lo + 1));
  }
  normal(): number {
    const u1 = 1 - this.next();
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** Picks a key by weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    return pickWeighted(Object.entries(weights) as [K, number][], this.next());
  }
}

/** Picks an item by weight with the uniform draw `u` in [0, 1) (weights need not sum to 1). */
export function pickWeighted<K>(items: readonly (readonly [K, number])[], u: number): K {
  let total = 0;
  for (const [, w] of items) total += w;
  let x = u * total;
  for (const [k, w] of items) {
    x -= w;
    if (x < 0) return k;
  }
  return items[items.length - 1]![0];
}

/** Streams: one per purpose, so that draws for different things never correlate. */
export const STREAM = {
  topology: 1,
  loadSmooth: 2,
  loadJitter: 3,
  loadDay: 4,
  regionDay: 5,
  radioJitter: 6,
  incidentCount: 10,
  incident: 11,
  linkErrors: 12,
  complaintCount: 20,
  complaint: 21,
  noiseCount: 22,
  noise: 23,
} as const;
