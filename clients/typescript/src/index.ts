// The hand-written layer of userd's TypeScript client: openapi-fetch over the
// generated types (schema.d.ts), with the session's tokens kept, sent and
// refreshed by the grace rule, and the notification stream read with
// resumption. It uses fetch alone: it runs in Node 20 and in browsers.
import createFetchClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, operations, paths } from "./schema.js";

/** A notification, as GET /v1/me/notifications and the stream give it. */
export type Notification = components["schemas"]["Notification"];
/** An RFC 9457 problem document with userd's stable `code`. */
export type Problem = components["schemas"]["Problem"];

/** The tokens of a signed-in session. */
export interface Tokens {
  /** The access JWT, sent as `Authorization: Bearer`. */
  accessToken: string;
  /** The refresh token (`udr_…`): it works once, and its successor replaces it. */
  refreshToken: string;
  /** When the access token expires, in milliseconds since the epoch (by this machine's clock). */
  expiresAt: number;
  /** How long the access token lives, in milliseconds. */
  lifetime: number;
}

/** Options of createUserdClient. */
export interface UserdClientOptions {
  /** userd's base URL, such as `https://id.example.com`. */
  baseUrl: string;
  /** The tokens of a session signed in before (say, kept by onTokens). */
  tokens?: Tokens | null;
  /** Called with the new tokens after each log-in and refresh, and with null when the session ends: keep them. */
  onTokens?: (tokens: Tokens | null) => void;
  /**
   * userd's `--refresh-grace` in milliseconds (10 s by default): a refresh
   * whose answer was lost is retried with the same refresh token only within
   * it, where userd answers the same successor; after it, presenting the
   * token again would end the session.
   */
  refreshGraceMs?: number;
  /** Refresh the access token this long before it expires (30 s, at most half its life). */
  refreshBeforeMs?: number;
  /** The fetch to use; the global one by default. */
  fetch?: typeof globalThis.fetch;
}

/** The session ended: logged out, revoked, expired, or its refresh token was reused. Sign in again. */
export class SessionEndedError extends Error {
  constructor(message = "userd: the session ended; sign in again") {
    super(message);
    this.name = "SessionEndedError";
  }
}

/** userd answered a problem document. */
export class UserdError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The problem's stable code, such as `too_many_streams`. */
  readonly code: string;
  /** The problem document, when the answer carried one. */
  readonly problem?: Problem;
  constructor(status: number, problem?: Problem) {
    super(`userd: ${status} ${problem?.code ?? ""} ${problem?.detail ?? problem?.title ?? ""}`.trim());
    this.name = "UserdError";
    this.status = status;
    this.code = problem?.code ?? "";
    this.problem = problem;
  }
}

/** One event of the notification stream. */
export interface NotificationEvent {
  /** The event's id: the notification's, which resumes the stream after it. */
  id: string;
  notification: Notification;
}

/** Options of UserdClient.notifications. */
export interface StreamOptions {
  /** Resume after this event id: the notifications made since come first. */
  lastEventId?: string;
  /** Ends the stream (the iteration returns). */
  signal?: AbortSignal;
}

type TokenBody = { access_token: string; refresh_token: string; expires_in: number };

// Operations that answer a new session's tokens, which the client keeps.
const signIns = new Set(["/v1/auth/signup", "/v1/auth/login", "/v1/auth/mfa/verify", "/v1/auth/passkeys/login/finish"]);
// Operations that take no credential: the client sends none to them.
const anonymous = new Set([...signIns, "/v1/auth/token", "/v1/auth/password/forgot", "/v1/auth/password/reset", "/v1/auth/email/verify"]);

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });

/** Returns a client of the userd at options.baseUrl. */
export function createUserdClient(options: UserdClientOptions): UserdClient {
  return new UserdClient(options);
}

/**
 * A client of userd: `api` makes the typed calls (openapi-fetch over the
 * OpenAPI document's types) with the session's access token, which the client
 * refreshes before it expires; sign-up and log-in through `api` sign the
 * client in, logout signs it out.
 */
export class UserdClient {
  /** The typed calls: `api.GET("/v1/me")`, `api.PUT("/v1/users/{id}/follow", {params: {path: {id}}})`, … */
  readonly api: Client<paths>;
  readonly #baseUrl: string;
  readonly #fetch: typeof globalThis.fetch;
  readonly #onTokens?: (tokens: Tokens | null) => void;
  readonly #graceMs: number;
  readonly #beforeMs: number;
  #tokens: Tokens | null;
  #refreshing: Promise<Tokens> | null = null;

  constructor(options: UserdClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#onTokens = options.onTokens;
    this.#graceMs = options.refreshGraceMs ?? 10_000;
    this.#beforeMs = options.refreshBeforeMs ?? 30_000;
    this.#tokens = options.tokens ?? null;
    this.api = createFetchClient<paths>({ baseUrl: this.#baseUrl, fetch: (req) => this.#fetch(req) });
    this.api.use(this.#middleware());
  }

  /** The session's tokens, or null when signed out. */
  get tokens(): Tokens | null {
    return this.#tokens;
  }

  /** Replaces the session's tokens (null signs the client out) and tells onTokens. */
  setTokens(tokens: Tokens | null): void {
    this.#tokens = tokens;
    this.#onTokens?.(tokens);
  }

  /**
   * Returns an access token that is not about to expire, refreshing it first
   * when it is. Throws SessionEndedError when signed out or when userd ended
   * the session.
   */
  async accessToken(): Promise<string> {
    const t = this.#tokens;
    if (!t) throw new SessionEndedError("userd: not signed in");
    const margin = Math.min(this.#beforeMs, t.lifetime / 2);
    if (Date.now() < t.expiresAt - margin) return t.accessToken;
    return (await this.refresh()).accessToken;
  }

  /**
   * Trades the refresh token for new tokens (POST /v1/auth/token). Calls made
   * while one runs share it. When the answer is lost (a network error, a 5xx),
   * it presents the same refresh token again, but only within the grace
   * window, where userd answers the same successor; past it the error is
   * thrown and the tokens stay as they were. A 401 means userd ended the
   * session (the token was used before, or the session is gone): the tokens
   * are dropped and SessionEndedError is thrown.
   */
  refresh(): Promise<Tokens> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<Tokens> {
    const presented = this.#tokens;
    if (!presented) throw new SessionEndedError("userd: not signed in");
    const started = Date.now();
    // Leave a margin for the retry to reach userd before the window closes.
    const deadline = started + this.#graceMs - Math.min(1_000, this.#graceMs / 4);
    for (let wait = 100; ; wait *= 2) {
      let res: Response;
      try {
        res = await this.#fetch(
          new Request(`${this.#baseUrl}/v1/auth/token`, {
            method: "POST",
            headers: { "Content-Type": "application/json", Accept: "application/json" },
            body: JSON.stringify({ refresh_token: presented.refreshToken }),
          }),
        );
      } catch (err) {
        if (Date.now() + wait < deadline) {
          await sleep(wait);
          continue;
        }
        throw err;
      }
      if (res.ok) {
        const tokens = toTokens((await res.json()) as TokenBody);
        // A log-in or logout while this ran wins over its answer.
        if (this.#tokens === presented) this.setTokens(tokens);
        return tokens;
      }
      const problem = await readProblem(res);
      if (res.status === 401) {
        if (this.#tokens === presented) this.setTokens(null);
        throw new SessionEndedError(`userd: the session ended (${problem?.code ?? "401"}); sign in again`);
      }
      if (res.status >= 500 && Date.now() + wait < deadline) {
        await sleep(wait);
        continue;
      }
      throw new UserdError(res.status, problem);
    }
  }

  /**
   * Reads GET /v1/me/notifications/stream, yielding each notification as
   * userd commits it, for as long as the session lives. It reconnects by
   * itself, resuming after the last event it yielded (Last-Event-ID): when the
   * connection drops or userd shuts down (after the wait userd's `retry:`
   * asks), and when the stream's access token expires (after a refresh).
   * The iteration returns when options.signal aborts or the client signs
   * out; it throws SessionEndedError when userd ends the session, and
   * UserdError for a refusal such as 429 `too_many_streams`.
   */
  async *notifications(options: StreamOptions = {}): AsyncGenerator<NotificationEvent, void, undefined> {
    const { signal } = options;
    let last = options.lastEventId;
    let retryMs = 3_000;
    let failures = 0;
    while (!signal?.aborted) {
      if (!this.#tokens) return;
      const token = await this.accessToken();
      const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: "text/event-stream" };
      if (last !== undefined) headers["Last-Event-ID"] = last;
      let res: Response;
      try {
        res = await this.#fetch(new Request(`${this.#baseUrl}/v1/me/notifications/stream`, { headers, signal }));
      } catch (err) {
        if (signal?.aborted) return;
        if (++failures > 8) throw err;
        await sleep(Math.min(retryMs * 2 ** (failures - 1), 60_000), signal);
        continue;
      }
      if (res.status === 401) {
        // The access token was refused (a clock ahead of userd's): refresh
        // once; a second refusal is the session's end.
        await res.body?.cancel();
        if (++failures > 1) throw new SessionEndedError();
        await this.refresh();
        continue;
      }
      if (!res.ok || !res.body) throw new UserdError(res.status, await readProblem(res));
      failures = 0;
      let ended: string | undefined;
      try {
        for await (const ev of readEvents(res.body, signal)) {
          if (ev.retry !== undefined) retryMs = ev.retry;
          if (ev.event === "end") {
            ended = (JSON.parse(ev.data) as { reason?: string }).reason ?? "session_ended";
            break;
          }
          if (ev.event === "notification") {
            last = ev.id;
            yield { id: ev.id, notification: JSON.parse(ev.data) as Notification };
          }
        }
      } catch (err) {
        if (signal?.aborted) return;
        if (!isNetworkError(err)) throw err;
        ended = undefined; // the connection dropped: reconnect below
      }
      if (signal?.aborted) return;
      if (ended === "token_expired") {
        await this.refresh();
        continue;
      }
      if (ended !== undefined) {
        if (!this.#tokens) return; // this client signed out
        this.setTokens(null);
        throw new SessionEndedError(`userd: the session ended (${ended}); sign in again`);
      }
      await sleep(retryMs, signal);
    }
  }

  #middleware(): Middleware {
    return {
      onRequest: async ({ request, schemaPath }) => {
        if (anonymous.has(schemaPath) || request.headers.has("Authorization") || !this.#tokens) return undefined;
        request.headers.set("Authorization", `Bearer ${await this.accessToken()}`);
        return request;
      },
      onResponse: async ({ request, response, schemaPath }) => {
        if (signIns.has(schemaPath) && response.ok) {
          this.setTokens(toTokens((await response.clone().json()) as TokenBody));
        } else if (schemaPath === "/v1/auth/logout" && request.method === "POST" && response.ok) {
          this.setTokens(null);
        }
        return undefined;
      },
    };
  }
}

/** The tokens of a log-in or refresh answer, its expiry by this machine's clock. */
function toTokens(body: TokenBody): Tokens {
  const lifetime = body.expires_in * 1000;
  return { accessToken: body.access_token, refreshToken: body.refresh_token, expiresAt: Date.now() + lifetime, lifetime };
}

/** The problem document of an answer, if it has one. */
async function readProblem(res: Response): Promise<Problem | undefined> {
  try {
    return (await res.json()) as Problem;
  } catch {
    return undefined;
  }
}

/** Whether err is a dropped connection rather than a fault of the stream's content. */
function isNetworkError(err: unknown): boolean {
  return err instanceof TypeError || (err instanceof Error && /terminated|ECONNRESET|socket|network/i.test(err.message));
}

/** One Server-Sent Event. */
interface ServerEvent {
  event: string;
  data: string;
  id: string;
  retry?: number;
}

/**
 * Parses a text/event-stream body as the HTML standard says: lines end with
 * CRLF, LF or CR; a blank line dispatches the event; `:` starts a comment;
 * `retry:` alone is yielded too, so the caller learns the reconnection time.
 */
export async function* readEvents(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<ServerEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  let ev: ServerEvent = { event: "", data: "", id: "" };
  let lastId = "";
  let hasData = false;
  let done = false;
  const onAbort = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) {
        done = true;
        return;
      }
      const value = chunk.value;
      buf += decoder.decode(value, { stream: true });
      let m: RegExpMatchArray | null;
      // A CR at the very end may be the first half of a CRLF: wait for more.
      while ((m = buf.match(/\r\n|\n|\r(?!$)/)) && m.index !== undefined) {
        const line = buf.slice(0, m.index);
        buf = buf.slice(m.index + m[0].length);
        if (line === "") {
          if (hasData) yield { ...ev, id: lastId, event: ev.event || "message", data: ev.data.replace(/\n$/, "") };
          else if (ev.retry !== undefined) yield { ...ev, id: lastId };
          ev = { event: "", data: "", id: "" };
          hasData = false;
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") ev.event = value;
        else if (field === "data") {
          ev.data += value + "\n";
          hasData = true;
        } else if (field === "id" && !value.includes("\0")) lastId = value;
        else if (field === "retry" && /^\d+$/.test(value)) ev.retry = Number(value);
      }
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    // A reader that stops early (an "end" event, a break) closes the connection.
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
