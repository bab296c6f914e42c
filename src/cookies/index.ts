// Placeholder while #14 is built: cookieSessions and its adapters land here.
export {};
