// ESLint (flat config) with typescript-eslint's type-checked rules for the extension's sources.
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "out/", "bundled/", "node_modules/"] },
  eslint.configs.recommended,
  {
    files: ["**/*.ts"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    // The seam: only vscodeapi.ts reaches VS Code at run time and only languageclient.ts
    // vscode-languageclient, so everything else runs under node's test runner with stubs.
    files: ["src/**/*.ts"],
    ignores: ["src/vscodeapi.ts", "src/languageclient.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          paths: [
            {
              name: "vscode",
              message: "Call VS Code through VsCodeApi (src/vscodeapi.ts); import its types only.",
              allowTypeImports: true,
            },
            {
              name: "vscode-languageclient/node",
              message: "Only src/languageclient.ts uses vscode-languageclient (see Connect in server.ts).",
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // node:test's test() returns a promise the runner itself awaits.
    files: ["src/test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "describe", "it"] }] },
      ],
    },
  },
  {
    files: ["**/*.mjs"],
    languageOptions: {
      sourceType: "module",
      globals: { process: "readonly", console: "readonly", URL: "readonly" },
    },
  },
);
