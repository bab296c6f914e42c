// createSessionId lives with the records (session.ts), where rotate(), loaded on first use, takes
// it from: a one-file page then wraps no module of its own for it in a lazy initialiser.
export { createSessionId } from "./session.ts";
