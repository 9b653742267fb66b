// An ordered map from strings to values: a B+ tree (the sorted-btree package), so finding a key,
// adding one and starting an ordered walk anywhere are O(log n), and a walk yields keys in order.
// Keys compare as JavaScript strings (UTF-16 code units); a caller that keeps byte strings as
// latin1 strings (one code unit per byte) gets bytewise order.
import BTreeModule from 'sorted-btree';

// sorted-btree is CommonJS with `exports.default = BTree`: Node's ESM import hands over the whole
// `module.exports`, so the class is its `default`.
const BTree = BTreeModule.default;

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class SortedMap<V> {
  private readonly tree = new BTree<string, V>(undefined, compare);

  get size(): number {
    return this.tree.size;
  }

  get(key: string): V | undefined {
    return this.tree.get(key);
  }

  set(key: string, value: V): void {
    this.tree.set(key, value);
  }

  delete(key: string): boolean {
    return this.tree.delete(key);
  }

  clear(): void {
    this.tree.clear();
  }

  /** Entries with key ≥ `from` (all if absent), ascending. */
  entries(from?: string): IterableIterator<[string, V]> {
    return this.tree.entries(from);
  }

  /** Entries with key < `below` (all if absent), descending. */
  entriesBelow(below?: string): IterableIterator<[string, V]> {
    return this.tree.entriesReversed(below, undefined, below !== undefined);
  }
}
