import { defineConfig } from "vitest/config";

// Preact through the TSX transform alone (no framework plugin needed): see tsconfig's jsxImportSource.
// `--mode mock` builds the UI with the Tauri IPC mocked (mock/entry.tsx) into dist-mock/, for the
// browser test; the product build never contains the mock.
export default defineConfig(({ mode }) => ({
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: {
    outDir: mode === "mock" ? "dist-mock" : "dist",
    target: "es2021",
    rollupOptions: { input: mode === "mock" ? "mock.html" : "index.html" },
  },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["src/**/*.test.tsx", "src/**/*.test.ts"],
  },
}));
