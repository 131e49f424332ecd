// The dashboard is served by updatehub-server under /ui/ (src/server/dashboard.cpp). The build
// must leave no inline script or style in index.html: the server's Content-Security-Policy
// allows only files from the server itself.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/ui/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: "es2020",
    chunkSizeWarningLimit: 600,
  },
});
