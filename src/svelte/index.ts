// Placeholder until the svelte binding lands (this session).
export {};
