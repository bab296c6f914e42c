// Placeholder until the react binding lands (this session).
export {};
