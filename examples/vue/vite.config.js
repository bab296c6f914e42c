import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [vue()],
  // One Vue for the page and the composables: `file:../..` links the repo, whose node_modules has
  // a Vue of its own that sessionmanager-js/vue would otherwise import.
  resolve: { dedupe: ["vue"] },
});
