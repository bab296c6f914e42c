// Placeholder while #14 is built: SessionManagerStore lands here.
export {};
