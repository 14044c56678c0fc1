// Find a Python 3.10+ interpreter to run the bundled server: the `kestrel.interpreter` setting,
// else the Python extension's selected interpreter (when it is installed), else `python3` on PATH.
import { execFile } from "node:child_process";
import type { LogOutputChannel, Uri } from "vscode";
import type { VsCodeApi } from "./vscodeapi";

export const MIN_PYTHON: readonly [number, number] = [3, 10];

export interface Interpreter {
  /** The executable to spawn. */
  command: string;
  /** "3.10.13" */
  version: string;
  /** Where it came from, for the output channel. */
  source: string;
}

export class NoInterpreterError extends Error {}

interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: Uri): { path: string };
    resolveEnvironment(env: { path: string } | string): Promise<
      { executable: { uri?: Uri } } | undefined
    >;
  };
  environment?: {
    getActiveEnvironmentPath(resource?: Uri): { path: string };
    resolveEnvironment(env: { path: string } | string): Promise<
      { executable: { uri?: Uri } } | undefined
    >;
  };
}

/** Run `python -c` and return its version, or an error text. */
export function probeVersion(command: string): Promise<{ version?: string; error?: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
      { timeout: 15000, windowsHide: true },
      (err, stdout) => {
        if (err) {
          resolve({ error: err.message.split("\n")[0] });
          return;
        }
        resolve({ version: stdout.trim() });
      },
    );
  });
}

export function isSupported(version: string): boolean {
  const [major, minor] = version.split(".").map((n) => Number.parseInt(n, 10));
  if (Number.isNaN(major) || Number.isNaN(minor)) {
    return false;
  }
  return major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]);
}

async function fromPythonExtension(api: VsCodeApi, log: LogOutputChannel): Promise<string | undefined> {
  try {
    const python = await api.extensionApi<PythonExtensionApi>("ms-python.python");
    const envs = python?.environments ?? python?.environment;
    if (!envs) {
      return undefined;
    }
    const env = await envs.resolveEnvironment(envs.getActiveEnvironmentPath(api.workspaceFolder()));
    return env?.executable.uri?.fsPath;
  } catch (err) {
    log.warn(`Could not ask the Python extension for its interpreter: ${String(err)}`);
    return undefined;
  }
}

function expand(api: VsCodeApi, value: string): string {
  const folder = api.workspaceFolder()?.fsPath ?? "";
  const home = process.env.HOME ?? process.env.USERPROFILE ?? "";
  return value
    .replace(/\$\{workspaceFolder\}/g, folder)
    .replace(/\$\{userHome\}/g, home)
    .replace(/^~(?=$|\/)/, home);
}

/**
 * Pick the interpreter. An explicit `kestrel.interpreter` is the only candidate (a wrong one is an
 * error, not silently replaced); otherwise the Python extension's choice, then `python3`, `python`.
 */
export async function findInterpreter(
  api: VsCodeApi,
  log: LogOutputChannel,
  probe: (command: string) => Promise<{ version?: string; error?: string }> = probeVersion,
): Promise<Interpreter> {
  const configured = api.getConfiguration("kestrel").get<string | null>("interpreter");
  const candidates: { command: string; source: string }[] = [];
  if (typeof configured === "string" && configured.trim() !== "") {
    candidates.push({ command: expand(api, configured.trim()), source: "the kestrel.interpreter setting" });
  } else {
    const fromExtension = await fromPythonExtension(api, log);
    if (fromExtension) {
      candidates.push({ command: fromExtension, source: "the Python extension's selected interpreter" });
    }
    candidates.push({ command: "python3", source: "python3 on PATH" });
    candidates.push({ command: "python", source: "python on PATH" });
  }

  const tried: string[] = [];
  for (const candidate of candidates) {
    const result = await probe(candidate.command);
    if (result.version && isSupported(result.version)) {
      return { command: candidate.command, version: result.version, source: candidate.source };
    }
    const why = result.version ? `Python ${result.version} is too old` : (result.error ?? "did not run");
    tried.push(`${candidate.command} (${candidate.source}): ${why}`);
    log.warn(`Interpreter ${candidate.command} from ${candidate.source} not usable: ${why}`);
  }
  throw new NoInterpreterError(
    `Kestrel needs Python ${MIN_PYTHON.join(".")} or newer to run its language server, and found none. ` +
      `Tried: ${tried.join("; ")}. Set "kestrel.interpreter" to a Python ${MIN_PYTHON.join(".")}+ executable.`,
  );
}
