/**
 * Stands in for `docker build` + `docker run` (no Docker engine runs here): copies the tree the way the
 * Dockerfile's COPY does, runs the Dockerfile's own install command into a fresh DENO_DIR, makes the tree
 * read-only, then starts `deno task start` as uid 1000 with the npm registry unreachable and checks that
 * /health, / and /predict answer. The commands are read from the Dockerfile, so the two stay in step.
 */
import assert from "node:assert/strict";
import { clipPath, FSDD } from "./helpers.ts";

const dockerfile = await Deno.readTextFile("Dockerfile");
const installCommand = /^RUN (deno install .*)$/m.exec(dockerfile)?.[1];
const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? "null") as string[] | null;
const ignored = (await Deno.readTextFile(".dockerignore")).split("\n").map((l) => l.trim()).filter(Boolean);
const isRoot = Deno.uid() === 0;

async function run(command: string[], options: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(command[0], { args: command.slice(1), stdout: "piped", stderr: "piped", ...options }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${command.join(" ")} failed:\n${text}`);
  return text;
}

Deno.test({
  name: "Dockerfile: installs offline-ready as the image would, then serves as uid 1000 from a read-only tree with no registry",
  ignore: !FSDD || !isRoot,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    assert.ok(installCommand, "the Dockerfile has a RUN deno install ... line");
    assert.deepEqual(cmd, ["deno", "task", "start"]);
    assert.match(dockerfile, /useradd .*--uid 1000/);
    assert.match(dockerfile, /^EXPOSE 7860$/m);
    assert.match(dockerfile, /^HEALTHCHECK /m);

    const root = await Deno.makeTempDir({ prefix: "space-" });
    const app = `${root}/app`;
    const denoDir = `${root}/deno-dir`;
    try {
      // COPY . . minus .dockerignore: the files git knows, plus the untracked ones it does not ignore.
      const files = (await run(["git", "ls-files", "--cached", "--others", "--exclude-standard"])).split("\n").filter(Boolean)
        .filter((f) => !ignored.some((pattern) => f === pattern || f.startsWith(`${pattern}/`)));
      for (const file of files) {
        try {
          await Deno.mkdir(`${app}/${file.split("/").slice(0, -1).join("/")}`, { recursive: true });
          await Deno.copyFile(file, `${app}/${file}`);
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e; // deleted in the working tree but not yet in git
        }
      }
      const buildEnv = { DENO_DIR: denoDir, HOME: root, DENO_NO_UPDATE_CHECK: "1" };
      await run(["sh", "-c", installCommand!], { cwd: app, env: buildEnv });

      // Runtime: read-only app, uid 1000, no registry.
      await run(["chmod", "a+rx", root]); // makeTempDir is 0700: let uid 1000 in
      await run(["chmod", "-R", "a+rX,a-w", app]);
      await run(["chmod", "-R", "a+rwX", denoDir]);
      const port = 20000 + Math.floor(Math.random() * 20000);
      const server = new Deno.Command("setpriv", {
        args: ["--reuid=1000", "--regid=1000", "--clear-groups", ...cmd!],
        cwd: app,
        env: {
          ...buildEnv,
          HOME: root,
          PORT: String(port),
          HOST: "127.0.0.1",
          NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/",
          DENO_NO_UPDATE_CHECK: "1",
        },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let log = "";
      const decoder = new TextDecoder();
      const pumps = Promise.all([server.stdout, server.stderr].map(async (s) => {
        for await (const chunk of s) log += decoder.decode(chunk);
      }));
      try {
        const deadline = Date.now() + 60_000;
        let health: Response | null = null;
        while (Date.now() < deadline) {
          health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => null);
          if (health) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        assert.ok(health?.ok, `no /health answer:\n${log}`);
        assert.equal((await health!.json()).status, "ok");
        const page = await fetch(`http://127.0.0.1:${port}/`);
        assert.match(await page.text(), /Spoken Digits/);
        const bundle = await fetch(`http://127.0.0.1:${port}/static/build/islands.js`);
        assert.equal(bundle.status, 200);
        await bundle.body?.cancel();
        const predict = await fetch(`http://127.0.0.1:${port}/predict`, {
          method: "POST",
          body: await Deno.readFile(clipPath("7_jackson_32.wav")),
        });
        assert.equal((await predict.json()).digit, 7);
        assert.match(log, /static\/build is up to date/, "the start task rebuilt nothing in the read-only tree");
      } finally {
        try {
          server.kill("SIGTERM");
        } catch { /* it had already exited; the assertions above say why */ }
        await server.status;
        await pumps;
      }
    } finally {
      await run(["chmod", "-R", "u+w", root]);
      await Deno.remove(root, { recursive: true });
    }
  },
});
