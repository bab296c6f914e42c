// SM_INLINE=1 bundles the package into the server (Nitro's externals.inline) instead of tracing it.
export default defineNuxtConfig({
  compatibilityDate: "2025-07-15",
  devtools: { enabled: false },
  telemetry: false,
  nitro: process.env.SM_INLINE ? { externals: { inline: ["sessionmanager-js"] } } : {},
});
