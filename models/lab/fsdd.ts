/** The Free Spoken Digit Dataset on disk: file names, labels and the official and speaker splits. */

export interface Clip {
  path: string;
  digit: number;
  speaker: string;
  take: number;
}

export const DEFAULT_FSDD_DIR = "../shared/datasets/fsdd";
const NAME = /^(\d)_([a-z]+)_(\d+)\.wav$/;

/** Every recording under `<dir>/recordings` (or `dir` itself), sorted so that runs repeat. */
export function listClips(dir: string): Clip[] {
  const recordings = existsDir(`${dir}/recordings`) ? `${dir}/recordings` : dir;
  const clips: Clip[] = [];
  for (const entry of Deno.readDirSync(recordings)) {
    const m = NAME.exec(entry.name);
    if (m) clips.push({ path: `${recordings}/${entry.name}`, digit: +m[1], speaker: m[2], take: +m[3] });
  }
  if (clips.length === 0) throw new Error(`no FSDD recordings (like 7_jackson_32.wav) found in ${recordings}`);
  return clips.sort((a, b) => a.path < b.path ? -1 : 1);
}

function existsDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** FSDD's official split: takes 0-4 of every speaker and digit are the test set. */
export function officialSplit(clips: Clip[]): { train: Clip[]; test: Clip[] } {
  return { train: clips.filter((c) => c.take >= 5), test: clips.filter((c) => c.take < 5) };
}

export function speakers(clips: Clip[]): string[] {
  return [...new Set(clips.map((c) => c.speaker))].sort();
}

/**
 * The speakers a leave-one-out fold trains on: every speaker but `held`, or, for a learning curve over speakers,
 * only `count` of them (0 to all), taken in name order starting after `held` (so each fold drops different ones).
 */
export function foldSpeakers(all: string[], held: string, count?: number): string[] {
  const sorted = [...all].sort();
  const at = sorted.indexOf(held);
  // Everyone after `held`, then everyone before it (all of them when `held` is not among them: at = -1).
  const others = [...sorted.slice(at + 1), ...sorted.slice(0, Math.max(at, 0))];
  // 0 is allowed: the fold then learns from the synthetic voices alone.
  if (count !== undefined && !(count >= 0 && count <= others.length)) throw new Error(`a fold trains on 0 to ${others.length} speakers`);
  return others.slice(0, count ?? others.length);
}

/** The FSDD folder from $FSDD_DIR or the default beside the checkout, or undefined when neither exists. */
export function findFsdd(): string | undefined {
  const candidates = [Deno.env.get("FSDD_DIR"), DEFAULT_FSDD_DIR].filter((d): d is string => !!d);
  return candidates.find(hasClips);
}

/** listClips reads both a clone (with recordings/) and a bare folder of recordings. */
function hasClips(d: string): boolean {
  try {
    return listClips(d).length > 0;
  } catch {
    return false;
  }
}
