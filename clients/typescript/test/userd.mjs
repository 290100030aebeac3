// Starts a real userd for node tests (this client's and examples/node's):
// the binary of $USERD_BIN, or one built from this repository with `go build`.
import { execFile, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../../..", import.meta.url));

/** The administrator that startUserd makes. */
export const admin = { email: "admin@example.com", password: "an administrator's passphrase" };

let built;

/** Returns the userd binary: $USERD_BIN, or one built once with go build. */
async function binary() {
  if (process.env.USERD_BIN) return process.env.USERD_BIN;
  built ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), "userd-bin-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    const bin = join(dir, "userd");
    await run("go", ["build", "-o", bin, "./cmd/userd"], { cwd: repo });
    return bin;
  })();
  return built;
}

/** Returns a loopback port that was free a moment ago. */
export async function freePort() {
  const srv = createServer();
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = /** @type {import("node:net").AddressInfo} */ (srv.address());
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/**
 * Makes the administrator (`userd users create … --role ADMIN`), then runs
 * `userd serve` on SQLite in a fresh folder with args and waits until it
 * answers.
 * @param {string[]} [args] more flags of serve
 * @returns {Promise<{url: string, log: () => string, stop: () => Promise<void>}>}
 */
export async function startUserd(args = []) {
  const bin = await binary();
  const dir = await mkdtemp(join(tmpdir(), "userd-data-"));
  await run(bin, ["users", "create", "--email", admin.email, "--password", admin.password, "--role", "ADMIN", "--data-dir", dir]);
  const addr = `127.0.0.1:${await freePort()}`;
  const child = spawn(bin, ["serve", "--addr", addr, "--data-dir", dir, "--rate-limits", "off", "--argon2-memory", "64", "--argon2-time", "1", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout.on("data", (b) => (log += b));
  child.stderr.on("data", (b) => (log += b));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const url = `http://${addr}`;
  const stop = async () => {
    child.kill();
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  for (const deadline = Date.now() + 60_000; ; ) {
    if (child.exitCode !== null) throw new Error(`userd exited: ${log}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`userd did not answer within 60 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, log: () => log, stop };
}
