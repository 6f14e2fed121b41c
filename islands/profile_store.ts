/**
 * Where the page keeps a visitor's voice profiles: IndexedDB, one per model (name@version), across reloads.
 * Nothing here leaves the browser; Export/Import move a profile as a small JSON file.
 */
export interface StoredProfile {
  /** The opaque string /adapt (or the in-browser teacher) made. */
  profile: string;
  /** name@version it belongs to. */
  model: string;
  takes: number[];
  savedAt: string;
}

export const PROFILE_FILE_FORMAT = "spoken-digits-profile-file/1";
const DB = "spoken-digits";
const STORE = "profiles";

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run<T>(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const request = action(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result as T);
      request.onerror = () => reject(request.error);
    });
  } finally {
    db.close();
  }
}

export const loadProfile = (model: string) => run<StoredProfile | undefined>("readonly", (s) => s.get(model)).catch(() => undefined);
export const saveProfile = (stored: StoredProfile) => run<unknown>("readwrite", (s) => s.put(stored, stored.model));
export const deleteProfile = (model: string) => run<unknown>("readwrite", (s) => s.delete(model));

/** The file Export writes. */
export function profileFile(stored: StoredProfile): Blob {
  return new Blob([JSON.stringify({ format: PROFILE_FILE_FORMAT, ...stored }, null, 1)], { type: "application/json" });
}

/** Reads an exported file; the caller checks the model. Throws with a message for people. */
export async function readProfileFile(file: File): Promise<StoredProfile> {
  if (file.size > 160 * 1024) throw new Error("That file is too large to be a voice profile.");
  let parsed: Partial<StoredProfile> & { format?: string };
  try {
    parsed = JSON.parse(await file.text());
  } catch {
    throw new Error("That file is not a voice profile (it is not JSON).");
  }
  if (parsed?.format !== PROFILE_FILE_FORMAT || typeof parsed.profile !== "string" || typeof parsed.model !== "string") {
    throw new Error("That file is not a voice profile exported from this page.");
  }
  const takes = Array.isArray(parsed.takes) && parsed.takes.length === 10 ? parsed.takes.map(Number) : new Array(10).fill(0);
  return { profile: parsed.profile, model: parsed.model, takes, savedAt: String(parsed.savedAt ?? new Date().toISOString()) };
}
