import type { CookieSession } from "sessionmanager-js/cookies";

declare global {
  namespace App {
    interface Account {
      user: string;
      framework: string;
    }
    interface Locals {
      session: CookieSession<Account>;
    }
  }
}
