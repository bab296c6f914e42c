// The app's cookie sessions, one per server process: the memory backend is enough there.
import { cookieSessions } from "sessionmanager-js/cookies";

export interface Account {
  user: string;
  framework: string;
}

export const accounts = cookieSessions<Account>({
  secret: process.env.SM_COOKIE_SECRET ?? "a consumer-test secret of 32+ characters",
  store: { backend: "memory" },
});
