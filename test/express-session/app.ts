// A real Express 5 app with express-session on a given store, listening on 127.0.0.1 and a free
// port, and a browser-like client for it: fetch with a cookie jar of its own.
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import session, { type SessionOptions, type Store } from "express-session";

declare module "express-session" {
  interface SessionData {
    user?: string;
    views?: number;
    note?: unknown;
  }
}

export interface App {
  readonly url: string;
  close(): Promise<void>;
}

/** The app: sign in (regenerating the session), read, count views, sign out, store anything. */
export async function startApp(store: Store, options: Partial<SessionOptions> = {}): Promise<App> {
  const app = express();
  app.use(express.json());
  app.use(
    session({
      store,
      secret: "a secret long enough for the tests of the express-session store",
      resave: false,
      saveUninitialized: false,
      ...options,
    }),
  );
  app.post("/login", (req, res, next) => {
    // On sign-in a fresh id, so one planted before (session fixation) is worthless.
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.user = String(req.body?.user ?? "ada");
      res.json({ sid: req.sessionID });
    });
  });
  app.get("/me", (req, res) => {
    const { cookie } = req.session;
    res.json({
      sid: req.sessionID,
      user: req.session.user ?? null,
      views: req.session.views ?? 0,
      expiresIsDate: cookie.expires instanceof Date,
      originalMaxAge: cookie.originalMaxAge,
    });
  });
  app.post("/views", (req, res) => {
    req.session.views = (req.session.views ?? 0) + 1;
    res.json({ views: req.session.views });
  });
  app.post("/note", (req, res, next) => {
    req.session.note = req.body?.note === "function" ? () => 1 : req.body?.note;
    req.session.save((error) => (error ? next(error) : res.json({ ok: true })));
  });
  app.post("/logout", (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({ ok: true })));
  });
  app.get("/anonymous", (_req, res) => {
    res.json({ ok: true });
  });
  // Errors from the store (passed to its callbacks) end up here, as Express routes them.
  app.use(
    (
      error: { code?: string; message: string },
      _req: Request,
      res: Response,
      _next: NextFunction,
    ) => {
      res.status(500).json({ code: error.code ?? null, message: error.message });
    },
  );
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What a response said: status, JSON body, and the Set-Cookie headers it carried. */
export interface Answer {
  status: number;
  body: Record<string, unknown>;
  setCookies: string[];
}

/** A browser-like client: keeps the cookies it is sent (and forgets cleared or expired ones). */
export class Client {
  readonly jar: Map<string, string> = new Map();

  async request(url: string, method = "GET", body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (this.jar.size > 0) {
      headers.cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join("; ");
    }
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(url, {
      method,
      headers,
      redirect: "manual",
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) this.keep(line);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : {}, setCookies };
  }

  /** The session cookie's value (`s:<sid>.<signature>`), undecoded. */
  get sessionCookie(): string | undefined {
    return this.jar.get("connect.sid");
  }

  private keep(line: string): void {
    const [pair = "", ...attributes] = line.split(";");
    const at = pair.indexOf("=");
    const name = pair.slice(0, at).trim();
    const value = pair.slice(at + 1).trim();
    const expires = attributes.find((a) => a.trim().toLowerCase().startsWith("expires="));
    // Expires has whole seconds: a cookie of a few hundred ms may already read as past.
    const gone = expires && Date.parse(expires.split("=")[1] ?? "") < Date.now() - 1000;
    if (!value || gone) this.jar.delete(name);
    else this.jar.set(name, value);
  }
}
