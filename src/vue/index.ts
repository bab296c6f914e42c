// Placeholder until the vue binding lands (this session).
export {};
