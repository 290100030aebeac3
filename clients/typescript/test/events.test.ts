// readEvents against the text/event-stream rules that userd's stream does not
// exercise every time: line ends of every kind, fields split across chunks,
// comments, multi-line data, retry alone.
import assert from "node:assert/strict";
import { it } from "node:test";

import { readEvents } from "../src/index.js";

/** A body that delivers chunks one by one. */
function body(...chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(ctl) {
      for (const c of chunks) ctl.enqueue(enc.encode(c));
      ctl.close();
    },
  });
}

it("parses events across chunks and line ends", async () => {
  const got = [];
  const stream = body(": stream open\nretry: 3000\n\n", "event: notif", "ication\r\nid: 1\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n", "id: 2\rdata: x\r", "\r: heartbeat\n\nevent: end\ndata: {}\n\n");
  for await (const ev of readEvents(stream)) got.push(ev);
  assert.deepEqual(got, [
    { event: "", data: "", id: "", retry: 3000 },
    { event: "notification", data: '{"a":\n1}', id: "1" },
    { event: "message", data: "x", id: "2" },
    { event: "end", data: "{}", id: "2" },
  ]);
});
