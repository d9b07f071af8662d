/**
 * Where an actor lives in a cluster: its address hashes to one of a fixed number of partitions, and each partition
 * has one owner among the live nodes, chosen by rendezvous (highest random weight) hashing. Every node computes the
 * same owners from the same list of nodes, and a node joining or leaving moves only the partitions it gains or had.
 */
import type { Address } from '../../actors/types';

/** The partition count of a cluster: fixed for its lifetime (the data of a partition moves as a whole). */
export const DEFAULT_PARTITIONS = 64;

/** 32-bit FNV-1a of a string's UTF-16 code units: fast, stable across runs and machines. */
export function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A 32-bit finaliser (murmur3's): FNV-1a alone spreads short similar keys unevenly. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

export function partitionOf(address: Address, partitions = DEFAULT_PARTITIONS): number {
  return mix(fnv1a(address)) % partitions;
}

/** The owner of one partition among `nodes` (none when there are no nodes). */
export function ownerOf(partition: number, nodes: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const node of nodes) {
    const w = mix(fnv1a(`${partition}`, fnv1a(node)));
    // Ties (rare) go to the smaller id, so every node decides alike.
    if (w > bestWeight || (w === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = w;
    }
  }
  return best;
}

/** The owner of every partition, indexed by partition. */
export function placement(nodes: readonly string[], partitions = DEFAULT_PARTITIONS): (string | undefined)[] {
  return Array.from({ length: partitions }, (_, p) => ownerOf(p, nodes));
}
