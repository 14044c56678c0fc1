// `npm run generate`: write src/generated/server.ts and package.json's setting defaults from the
// server's own tables (scripts/generate_settings.py; pass --check to change nothing).
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { extensionDir, pickPython } from "./python.mjs";

const python = pickPython();
try {
  execFileSync(python, [path.join(extensionDir, "scripts", "generate_settings.py"), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
} catch (err) {
  if (err.code === "ENOENT") {
    console.error(`generate: ${python} not found; run \`make setup\` or set KESTREL_BUNDLE_PYTHON.`);
  }
  process.exit(typeof err.status === "number" ? err.status : 1);
}
