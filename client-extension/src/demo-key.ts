// `make run` (scripts/demo-vscode.py) serves a local provider simulator and hands the extension
// a key for it in KESTREL_DEMO_API_KEY, so the demo's first action works with no key typed.
// The key is never stored: it stands in while no key is stored for the provider, until
// "Kestrel: Clear API Key" in this window (the way the demo shows the missing-key notice).
export const DEMO_KEY_VARIABLE = "KESTREL_DEMO_API_KEY";

export function demoKeyFrom(env: Record<string, string | undefined>): string | undefined {
  const key = env[DEMO_KEY_VARIABLE]?.trim();
  return key ? key : undefined;
}
