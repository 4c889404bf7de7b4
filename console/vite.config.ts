import { defineConfig } from "vite";

// The server serves dist/ at "/": relative asset paths, no dev-only code in the bundle.
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
    assetsInlineLimit: 0,
  },
});
