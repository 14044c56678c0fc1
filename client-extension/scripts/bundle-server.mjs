// Put the Kestrel server and its pure-Python libraries into bundled/libs (no pip at run time).
//   pip install --target bundled/libs --no-deps --implementation py ... -r requirements-bundled.txt
//   pip install --target bundled/libs --no-deps <repo root>   (the kestrel_lsp package)
// The Python that runs pip: $KESTREL_BUNDLE_PYTHON, else <repo>/.venv/bin/python, else python3.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { extensionDir, pickPython, repoRoot } from "./python.mjs";

const libs = path.join(extensionDir, "bundled", "libs");

const python = pickPython();
const pip = (args) =>
  execFileSync(python, ["-m", "pip", "--disable-pip-version-check", "-q", ...args], {
    stdio: ["ignore", "inherit", "inherit"],
    cwd: extensionDir,
  });

fs.rmSync(path.join(extensionDir, "bundled"), { recursive: true, force: true });
fs.mkdirSync(libs, { recursive: true });

pip([
  "install",
  "--target",
  libs,
  "--no-deps",
  "--implementation",
  "py",
  "--python-version",
  "3.10",
  "--only-binary=:all:",
  "--no-compile",
  "-r",
  path.join(extensionDir, "requirements-bundled.txt"),
]);
// The project itself (pyproject.toml at the repo root, package kestrel_lsp under server/).
// A copy of the tree, so the build leaves nothing (build/, *.egg-info) in the repository.
const staging = fs.mkdtempSync(path.join(extensionDir, "bundled", ".src-"));
for (const name of ["pyproject.toml", "README.md", "server"]) {
  const from = path.join(repoRoot, name);
  if (fs.existsSync(from)) {
    fs.cpSync(from, path.join(staging, name), {
      recursive: true,
      filter: (src) => !src.includes("__pycache__") && !src.endsWith(".egg-info"),
    });
  }
}
pip(["install", "--target", libs, "--no-deps", "--no-compile", staging]);
fs.rmSync(staging, { recursive: true, force: true });

// Console scripts point at the build machine's Python; the extension runs `-m kestrel_lsp`.
fs.rmSync(path.join(libs, "bin"), { recursive: true, force: true });
for (const entry of fs.readdirSync(libs, { recursive: true })) {
  if (String(entry).endsWith("__pycache__")) {
    fs.rmSync(path.join(libs, String(entry)), { recursive: true, force: true });
  }
}
if (!fs.existsSync(path.join(libs, "kestrel_lsp", "__init__.py"))) {
  throw new Error(`kestrel_lsp is missing from ${libs}`);
}
console.log(`bundled the server and its libraries into ${path.relative(extensionDir, libs)}`);
