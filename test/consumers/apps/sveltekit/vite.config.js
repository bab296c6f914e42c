import { sveltekit } from "@sveltejs/kit/vite";

// SM_NO_EXTERNAL=1 bundles the package into the server build instead of leaving it external.
export default {
  plugins: [sveltekit()],
  ssr: process.env.SM_NO_EXTERNAL ? { noExternal: ["sessionmanager-js"] } : {},
};
