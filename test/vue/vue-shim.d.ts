// Single-file components, for `tsc -p test`: compiled by @vitejs/plugin-vue in the Chromium
// project (vitest.config.ts), not type-checked here.
declare module "*.vue" {
  import type { DefineComponent } from "vue";

  const component: DefineComponent<Record<string, unknown>>;
  export default component;
}
