/**
 * The models a server answers with: every model folder it was given (or found), loaded once, and the default
 * one. Unless the operator names an order, the default is the folder with the best leave-one-speaker-out mean
 * among those that keep at least 97% on FSDD's official split: the model that hears new voices best.
 */
import type { Classifier } from "./classifier.ts";
import { embeddingDir, loadClassifier } from "./files.ts";
import type { MetricsFile } from "./lab/report.ts";

export interface ServedModel {
  /** The folder's name: what `?model=` takes. */
  name: string;
  dir: string;
  classifier: Classifier;
  metrics: MetricsFile | null;
}

export interface ServedModels {
  /** Default first. */
  models: ServedModel[];
  byName(name: string): ServedModel | undefined;
  readonly default: ServedModel;
}

/** Folders under `root` that hold a model (model.json, weights.bin, features.json); experiments (tmp_*) left out. */
export function findModelFolders(root: string): string[] {
  const names: string[] = [];
  for (const entry of Deno.readDirSync(root)) {
    if (!entry.isDirectory || entry.name.startsWith("tmp_") || entry.name.startsWith(".")) continue;
    const has = (file: string) => {
      try {
        return Deno.statSync(`${root}/${entry.name}/${file}`).isFile;
      } catch {
        return false;
      }
    };
    if (has("model.json") && has("weights.bin") && has("features.json")) names.push(entry.name);
  }
  return names.sort();
}

function readMetrics(dir: string): MetricsFile | null {
  try {
    return JSON.parse(Deno.readTextFileSync(`${dir}/metrics.json`));
  } catch {
    return null;
  }
}

/** FSDD's speakers: a leave-one-speaker-out mean over fewer folds is not comparable with a full one. */
const FSDD_SPEAKERS = 6;

/** How a model ranks for the default: its full LOSO mean, if its official split accuracy is at least 97%. */
function rank(metrics: MetricsFile | null): number {
  const official = metrics?.official?.accuracy ?? 0;
  const full = Object.keys(metrics?.loso?.perSpeaker ?? {}).length >= FSDD_SPEAKERS;
  const loso = full ? metrics!.loso!.mean : 0;
  return official >= 0.97 ? loso : -1 + official;
}

/** The folder a server would answer with by default, without loading any model (for tools). */
export function defaultModelDir(dirs: string[]): string {
  return dirs.reduce((a, b) => (rank(readMetrics(b)) > rank(readMetrics(a)) ? b : a));
}

/**
 * Loads `dirs` (paths to model folders). With `ordered`, the first is the default; otherwise the best by rank().
 */
export async function loadServedModels(dirs: string[], ordered: boolean): Promise<ServedModels> {
  if (dirs.length === 0) throw new Error("no model folders to serve");
  const loaded: ServedModel[] = [];
  for (const dir of dirs) {
    const classifier = await loadClassifier(dir);
    loaded.push({ name: classifier.identity.name, dir, classifier, metrics: readMetrics(dir) });
  }
  const names = new Set(loaded.map((m) => m.name));
  if (names.size !== loaded.length) throw new Error(`two model folders share a name: ${dirs.join(", ")}`);
  const best = ordered ? loaded[0] : loaded.reduce((a, b) => (rank(b.metrics) > rank(a.metrics) ? b : a));
  const models = [best, ...loaded.filter((m) => m !== best)];
  return { models, default: best, byName: (name) => models.find((m) => m.name === name) };
}

/** The embedding folders the served models sit on, by name (models/speech_embedding/ ...): the page downloads them. */
export function embeddingFolders(served: ServedModels): Map<string, string> {
  const folders = new Map<string, string>();
  for (const { dir, classifier } of served.models) {
    const name = classifier.features.config.embedding?.model;
    if (name && !folders.has(name)) folders.set(name, embeddingDir(dir, name));
  }
  return folders;
}
