/** islands/build.ts rebuilds when any file the bundles import changes: its SOURCES list covers every local module they load. */
import assert from "node:assert/strict";
import { relative } from "node:path";

Deno.test("build: SOURCES covers every local module of islands/client.ts and islands/inference.ts", async () => {
  const text = await Deno.readTextFile("islands/build.ts");
  const list = /const SOURCES = \[([\s\S]*?)\];/.exec(text)![1];
  const sources = [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  for (const entry of ["islands/client.ts", "islands/inference.ts"]) {
    const { stdout } = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", entry], stdout: "piped" }).output();
    const modules: { specifier: string }[] = JSON.parse(new TextDecoder().decode(stdout)).modules;
    const local = modules.map((m) => m.specifier).filter((s) => s.startsWith("file://")).map((s) =>
      relative(Deno.cwd(), new URL(s).pathname)
    );
    assert.ok(local.length > 5);
    for (const file of local) {
      assert.ok(
        sources.some((s) => file === s || file.startsWith(`${s}/`)),
        `${entry} loads ${file}, which SOURCES in islands/build.ts misses`,
      );
    }
  }
});
