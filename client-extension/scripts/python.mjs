// The Python that build steps run: $KESTREL_BUNDLE_PYTHON, else <repo>/.venv/bin/python, else python3.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const extensionDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const repoRoot = path.resolve(extensionDir, "..");

export function pickPython() {
  if (process.env.KESTREL_BUNDLE_PYTHON) {
    return process.env.KESTREL_BUNDLE_PYTHON;
  }
  const venv = path.join(repoRoot, ".venv", "bin", "python");
  return fs.existsSync(venv) ? venv : "python3";
}
