import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [react()],
  // One React for the page and the hooks: `file:../..` links the repo, whose node_modules has a
  // React of its own that sessionmanager-js/react would otherwise import.
  resolve: { dedupe: ["react", "react-dom"] },
});
