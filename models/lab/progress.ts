import type { EpochReport } from "./training.ts";

/** A one-line progress bar on a terminal (rewritten in place), one line per epoch otherwise (CI logs). */
export function epochPrinter(label: string): (r: EpochReport) => void {
  const tty = Deno.stdout.isTerminal();
  const encoder = new TextEncoder();
  return (r) => {
    // An ensemble's epochs are counted over all its members, which may train at once: the bar and ETA cover them all.
    const eta = (r.elapsedS / r.epoch) * (r.epochs - r.epoch);
    const what = r.members && r.members > 1 ? `epochs ${r.epoch}/${r.epochs} (${r.members} members)` : `epoch ${r.epoch}/${r.epochs}`;
    const stats = `${what} loss ${r.loss.toFixed(4)} acc ${(r.accuracy * 100).toFixed(1)}% ${r.elapsedS.toFixed(0)}s ETA ${
      eta.toFixed(0)
    }s`;
    if (tty) {
      const filled = Math.round((r.epoch / r.epochs) * 24);
      const bar = "#".repeat(filled) + "-".repeat(24 - filled);
      Deno.stdout.writeSync(encoder.encode(`\r${label} [${bar}] ${stats}${r.epoch === r.epochs ? "\n" : ""}`));
    } else {
      console.log(`${label} ${stats}`);
    }
  };
}
