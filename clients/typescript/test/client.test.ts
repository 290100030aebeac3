// The TypeScript client against a real userd (see userd.mjs): sign-up,
// log-in, the current user, follows, refresh by the grace rule, and the
// notification stream with its resumption.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { createUserdClient, SessionEndedError, type NotificationEvent, type Tokens, type UserdClient } from "../src/index.js";
import { admin, startUserd } from "./userd.mjs";

const password = "correct horse battery staple";

/** Signs up a new user with email on a new client of url. */
async function signup(url: string, email: string, options: { fetch?: typeof fetch } = {}): Promise<{ client: UserdClient; id: string }> {
  const client = createUserdClient({ baseUrl: url, ...options });
  const { data, error, response } = await client.api.POST("/v1/auth/signup", { body: { email, password } });
  assert.equal(response.status, 201, JSON.stringify(error));
  assert.ok(client.tokens, "sign-up signs the client in");
  return { client, id: data!.user.id };
}

/** Signs the administrator in on a new client of url. */
async function signInAdmin(url: string): Promise<UserdClient> {
  const client = createUserdClient({ baseUrl: url });
  const { response } = await client.api.POST("/v1/auth/login", { body: { identifier: admin.email, password: admin.password } });
  assert.equal(response.status, 200);
  return client;
}

/** Sends the user a notification through the administration API. */
async function notify(adminClient: UserdClient, userId: string, title: string): Promise<void> {
  const { response, error } = await adminClient.api.POST("/v1/admin/notifications", { body: { user_id: userId, type: "test.note", title } });
  assert.equal(response.status, 201, JSON.stringify(error));
}

/**
 * A fetch that records each opening of the notification stream (its
 * Last-Event-ID) and lets a test wait until one is open: userd subscribes a
 * stream before it answers, so what is sent after that reaches it.
 */
function streamWatcher() {
  const opens: (string | null)[] = [];
  let waiting: (() => void)[] = [];
  const watched: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (input instanceof Request && input.url.endsWith("/v1/me/notifications/stream") && res.ok) {
      opens.push(input.headers.get("Last-Event-ID"));
      for (const w of waiting) w();
      waiting = [];
    }
    return res;
  };
  /** Resolves once the stream has been opened n times in all. */
  const opened = async (n: number): Promise<void> => {
    while (opens.length < n) await new Promise<void>((r) => waiting.push(r));
  };
  return { fetch: watched, opens, opened };
}

/** Pulls the next n events of a stream. */
async function take(stream: AsyncGenerator<NotificationEvent>, n: number): Promise<NotificationEvent[]> {
  const got: NotificationEvent[] = [];
  while (got.length < n) {
    const next = await stream.next();
    assert.ok(!next.done, `the stream ended after ${got.length} of ${n} events`);
    got.push(next.value);
  }
  return got;
}

describe("userd with default tokens", () => {
  let srv: Awaited<ReturnType<typeof startUserd>>;
  before(async () => {
    srv = await startUserd();
  });
  after(async () => {
    await srv?.stop();
  });

  it("signs up, logs in, reads the current user and follows", async () => {
    const ann = await signup(srv.url, "ann@example.com");
    const bob = await signup(srv.url, "bob@example.com");

    const again = createUserdClient({ baseUrl: srv.url });
    const login = await again.api.POST("/v1/auth/login", { body: { identifier: "ann@example.com", password } });
    assert.equal(login.response.status, 200);
    assert.equal(login.data!.user.id, ann.id);
    assert.equal(again.tokens?.refreshToken, login.data!.refresh_token);

    const me = await again.api.GET("/v1/me");
    assert.equal(me.response.status, 200);
    assert.equal(me.data!.email, "ann@example.com");
    assert.equal(me.data!.id, ann.id);

    const wrong = await createUserdClient({ baseUrl: srv.url }).api.POST("/v1/auth/login", {
      body: { identifier: "ann@example.com", password: "not her password" },
    });
    assert.equal(wrong.response.status, 401);

    const follow = await ann.client.api.PUT("/v1/users/{id}/follow", { params: { path: { id: bob.id } } });
    assert.equal(follow.response.status, 204);
    const profile = await ann.client.api.GET("/v1/users/{id}", { params: { path: { id: bob.id } } });
    assert.equal(profile.data!.followers_count, 1);
    assert.equal(profile.data!.followed_by_me, true);
    const followers = await bob.client.api.GET("/v1/users/{id}/followers", { params: { path: { id: bob.id } } });
    assert.deepEqual(
      followers.data!.items?.map((u) => u.id),
      [ann.id],
    );
    const self = await ann.client.api.PUT("/v1/users/{id}/follow", { params: { path: { id: ann.id } } });
    assert.equal(self.response.status, 422);
    assert.equal(self.error?.code, "self_follow");

    const out = await again.api.POST("/v1/auth/logout");
    assert.equal(out.response.status, 204);
    assert.equal(again.tokens, null, "logout signs the client out");
  });

  it("refreshes: racing clients of one session get one successor", async () => {
    const { client } = await signup(srv.url, "racer@example.com");
    const first = client.tokens!;
    // Another tab holding the same tokens refreshes at the same moment.
    const tab = createUserdClient({ baseUrl: srv.url, tokens: first });
    const [a, b] = await Promise.all([client.refresh(), tab.refresh()]);
    assert.notEqual(a.refreshToken, first.refreshToken);
    assert.equal(a.refreshToken, b.refreshToken, "the grace window gives both the same successor");
    for (const c of [client, tab]) assert.equal((await c.api.GET("/v1/me")).response.status, 200);
    // Calls made while a refresh runs share it.
    const [c, d] = await Promise.all([client.refresh(), client.refresh()]);
    assert.equal(c, d);
    assert.notEqual(c.refreshToken, a.refreshToken);
  });

  it("refreshes: an answer lost on the way is retried with the same token", async () => {
    let dropped = 0;
    const lossy: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const url = input instanceof Request ? input.url : String(input);
      if (url.endsWith("/v1/auth/token") && dropped++ === 0) {
        await res.body?.cancel();
        throw new TypeError("fetch failed"); // userd rotated the token; its answer never arrived
      }
      return res;
    };
    const { client } = await signup(srv.url, "lossy@example.com", { fetch: lossy });
    const first = client.tokens!;
    const next = await client.refresh();
    assert.equal(dropped, 2, "the first answer was dropped and the retry answered");
    assert.notEqual(next.refreshToken, first.refreshToken);
    assert.equal((await client.api.GET("/v1/me")).response.status, 200, "the session lives on");
    await client.refresh(); // and its successor works
    assert.equal((await client.api.GET("/v1/me")).response.status, 200);
  });

  it("refreshes: an older refresh token ends the session", async () => {
    const { client } = await signup(srv.url, "stale@example.com");
    const old = client.tokens!;
    await client.refresh();
    await client.refresh(); // old is now two generations behind
    const seen: (Tokens | null)[] = [];
    const stale = createUserdClient({ baseUrl: srv.url, tokens: old, onTokens: (t) => seen.push(t) });
    await assert.rejects(stale.refresh(), SessionEndedError);
    assert.deepEqual(seen, [null]);
    assert.equal(stale.tokens, null);
    await assert.rejects(stale.accessToken(), SessionEndedError);
    // userd revoked the whole session: the current tokens stopped too.
    assert.equal((await client.api.GET("/v1/me")).response.status, 401);
    await assert.rejects(client.refresh(), SessionEndedError);
  });

  it("streams notifications, resumes after the last one, ends with the session", async () => {
    const adminClient = await signInAdmin(srv.url);
    const watch = streamWatcher();
    const { client, id } = await signup(srv.url, "reader@example.com", { fetch: watch.fetch });

    let ctl = new AbortController();
    let stream = client.notifications({ signal: ctl.signal });
    const opened = stream.next(); // connects; events come as they are sent
    await watch.opened(1);
    await notify(adminClient, id, "one");
    const first = await opened;
    assert.ok(!first.done);
    assert.equal(first.value.notification.title, "one");
    assert.equal(first.value.id, first.value.notification.id);
    ctl.abort();
    assert.equal((await stream.next()).done, true, "an aborted stream returns");

    // Sent while nobody listens: a resumed stream gets them first, in order.
    await notify(adminClient, id, "two");
    await notify(adminClient, id, "three");
    ctl = new AbortController();
    stream = client.notifications({ signal: ctl.signal, lastEventId: first.value.id });
    assert.deepEqual(
      (await take(stream, 2)).map((e) => e.notification.title),
      ["two", "three"],
    );

    // Another client of the same session logs out: the stream ends with it.
    const ended = assert.rejects(stream.next(), SessionEndedError);
    const other = createUserdClient({ baseUrl: srv.url, tokens: client.tokens });
    assert.equal((await other.api.POST("/v1/auth/logout")).response.status, 204);
    await ended;
    assert.equal(client.tokens, null);
  });
});

describe("userd with access tokens of 3 seconds", () => {
  let srv: Awaited<ReturnType<typeof startUserd>>;
  before(async () => {
    srv = await startUserd(["--access-token-ttl", "3s"]);
  });
  after(async () => {
    await srv?.stop();
  });

  it("refreshes before each expiry and resumes the stream that its token ended", async () => {
    const adminClient = await signInAdmin(srv.url);
    const watch = streamWatcher();
    const { opens } = watch;
    const { client, id } = await signup(srv.url, "slow@example.com", { fetch: watch.fetch });
    const signedIn = client.tokens!;
    assert.equal(signedIn.lifetime, 3000);

    const ctl = new AbortController();
    const stream = client.notifications({ signal: ctl.signal });
    const opened = stream.next();
    await watch.opened(1);
    await notify(adminClient, id, "before expiry");
    const first = await opened;
    assert.equal(first.value?.notification.title, "before expiry");

    // The stream's token expires: userd ends the stream with token_expired,
    // the client refreshes and reconnects after the last event it got.
    await new Promise((r) => setTimeout(r, 4000));
    await notify(adminClient, id, "after expiry");
    const [second] = await take(stream, 1);
    assert.equal(second!.notification.title, "after expiry");
    assert.ok(opens.length >= 2, `the stream was opened ${opens.length} time(s)`);
    assert.equal(opens[0], null);
    assert.equal(opens.at(-1), first.value!.id);
    assert.notEqual(client.tokens!.refreshToken, signedIn.refreshToken, "the client refreshed");
    assert.equal((await client.api.GET("/v1/me")).response.status, 200);
    ctl.abort();
    await stream.return(undefined);
  });
});
