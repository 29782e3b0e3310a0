/**
 * A store and this region's replica of it (OBJECT_STORE_REPLICA_URL), for a stack of several
 * regions: one bucket takes every write (the primary's, OBJECT_STORE_URL), the cloud copies it to
 * a bucket in each other region, and a region reads its own copy. Writes, deletes and listings go
 * to the store; reads try the replica first and fall back to the store for what has not been
 * copied yet.
 *
 * The cloud copies writes, not the removal of a version: a secure delete of the store leaves the
 * replica's copy. `removeFromReplica` is that region's part of a delete (the index role runs it
 * when a document's delete reaches the region); the orphan sweep of the replica catches a copy
 * that arrived after it.
 */
import { isMissingObject, type ObjectStore, type StoredObject } from "./object-store";

export class ReplicatedObjectStore implements ObjectStore {
  readonly kind: ObjectStore["kind"];

  constructor(
    readonly store: ObjectStore,
    readonly replica: ObjectStore,
  ) {
    if (store.kind !== replica.kind)
      throw new Error(`a ${replica.kind} replica of a ${store.kind} store`);
    this.kind = store.kind;
  }

  put(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    return this.store.put(key, bytes, contentType);
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return await this.replica.get(key);
    } catch (error) {
      if (!isMissingObject(error)) throw error;
      return this.store.get(key);
    }
  }

  delete(key: string): Promise<void> {
    return this.store.delete(key);
  }

  list(prefix: string): AsyncIterable<StoredObject> {
    return this.store.list(prefix);
  }

  async check(): Promise<void> {
    await Promise.all([this.store.check(), this.replica.check()]);
  }

  /**
   * Removes this region's copies of `keys` and of every object under `prefixes`, each with every
   * version (the store's secure delete). Idempotent: what is gone already is no error.
   */
  async removeFromReplica(keys: readonly string[], prefixes: readonly string[]): Promise<void> {
    const all = new Set(keys);
    for (const prefix of prefixes) {
      if (this.replica.listAnyVersion)
        for await (const key of this.replica.listAnyVersion(prefix)) all.add(key);
      else for await (const object of this.replica.list(prefix)) all.add(object.key);
    }
    for (const key of all) await this.replica.delete(key);
  }
}

/** The store, read through this region's replica when there is one. */
export function withReplica(store: ObjectStore, replica: ObjectStore | undefined): ObjectStore {
  return replica ? new ReplicatedObjectStore(store, replica) : store;
}
