import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The workspace's root node_modules holds React 19 (Next.js) and the package hoisted beside it:
// `dedupe` makes the hooks import this app's React 18, and the server build bundles the package
// so that its `react` import is resolved from here too. An app with one React needs neither.
export default defineConfig({
  plugins: [react()],
  resolve: { dedupe: ["react", "react-dom"] },
  ssr: { noExternal: ["sessionmanager-js"] },
});
