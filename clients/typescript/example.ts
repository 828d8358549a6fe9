// A dashboard's day with Switchboard, through the client generated from openapi.json
// (openapi-typescript types + openapi-fetch). Every call is typed: a misspelt path,
// parameter or field is a compile error, and errors arrive as the typed ErrorBody.
//
//   SWITCHBOARD_URL=http://127.0.0.1:8080 SWITCHBOARD_TOKEN=sbo_… npm run example:typescript
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Chat = components["schemas"]["Chat"];
type ErrorBody = components["schemas"]["ErrorBody"];

const baseUrl = process.env.SWITCHBOARD_URL ?? "http://127.0.0.1:8080";
const token = process.env.SWITCHBOARD_TOKEN;
if (!token) throw new Error("set SWITCHBOARD_TOKEN to an operator token");

const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`ok  ${what}`);
}

function describe(error: ErrorBody): string {
  return `${error.error.code}: ${error.error.message} (request ${error.error.requestId})`;
}

// 1. The unread queue: open chats with unread messages, 5 per page (SmartSender's selector[name]).
const unread = await client.GET("/v1/chats", {
  params: { query: { "selector[name]": "unread", state: "open", limitation: 5 } },
});
if (unread.error) throw new Error(describe(unread.error));
check(unread.data.collection.length > 0, `listChats(selector[name]=unread, state=open) gives ${unread.data.collection.length} chats of ${unread.data.cursor.total}`);
check(
  unread.data.collection.every((c: Chat) => c.unreadMessages > 0 && c.state === "open"),
  "every listed chat is open and has unread messages",
);
const chat = unread.data.collection[0]!;

// 2. Search: part of the contact's name finds the chat.
const term = chat.contact.name.slice(0, 4);
const found = await client.GET("/v1/chats", { params: { query: { term, limitation: 20 } } });
if (found.error) throw new Error(describe(found.error));
check(found.data.collection.some((c) => c.id === chat.id), `listChats(term=${JSON.stringify(term)}) finds chat ${chat.id}`);

// 3. Open the chat, then mark it read.
const got = await client.GET("/v1/chats/{chatId}", { params: { path: { chatId: chat.id } } });
if (got.error) throw new Error(describe(got.error));
check(got.data.id === chat.id && got.response.headers.get("etag") !== null, `getChat(${chat.id}) answers the chat with an ETag`);
const read = await client.PUT("/v1/chats/{chatId}/read", { params: { path: { chatId: chat.id } } });
if (read.error) throw new Error(describe(read.error));
const afterRead = await client.GET("/v1/chats/{chatId}", { params: { path: { chatId: chat.id } } });
check(read.data.state && afterRead.data?.unreadMessages === 0, "readChat leaves no unread messages");

// 4. Answer the contact; a retry with the same Idempotency-Key gives back the same message.
const key = `example-${Date.now()}`;
const body = { text: "Thanks for writing in! Looking into it now." };
const sent = await client.POST("/v1/chats/{chatId}/messages", {
  params: { path: { chatId: chat.id }, header: { "Idempotency-Key": key } },
  body,
});
if (sent.error) throw new Error(describe(sent.error));
check(sent.response.status === 201 && sent.data.content.text === body.text, `sendChatMessage wrote message ${sent.data.id}`);
const retried = await client.POST("/v1/chats/{chatId}/messages", {
  params: { path: { chatId: chat.id }, header: { "Idempotency-Key": key } },
  body,
});
check(retried.response.status === 200 && retried.data?.id === sent.data.id, "a retry with the same Idempotency-Key answers the same message");

// 5. Page through the history: page 1, then the page before its oldest message (keyset).
const page = await client.GET("/v1/chats/{chatId}/messages", {
  params: { path: { chatId: chat.id }, query: { page: 1, limitation: 2 } },
});
if (page.error) throw new Error(describe(page.error));
check(page.data.collection[0]?.id === sent.data.id, "listChatMessages page 1 starts with the newest message");
const oldest = page.data.collection.at(-1)!;
const older = await client.GET("/v1/chats/{chatId}/messages", {
  params: { path: { chatId: chat.id }, query: { before: oldest.id, limit: 10 } },
});
if (older.error) throw new Error(describe(older.error));
check(older.data.collection.every((m) => m.id < oldest.id), `listChatMessages(before=${oldest.id}) gives ${older.data.collection.length} older messages`);

// 6. Forward the chat to another operator, with a note for them.
const operators = await client.GET("/v1/operators", {});
if (operators.error) throw new Error(describe(operators.error));
const colleague = operators.data.collection.find((o) => o.active && o.id !== chat.operator?.id)!;
const note = "VIP customer, please call back";
const forwarded = await client.POST("/v1/chats/{chatId}/forward/{operatorId}", {
  params: { path: { chatId: chat.id, operatorId: colleague.id } },
  body: { text: note },
});
if (forwarded.error) throw new Error(describe(forwarded.error));
const history = await client.GET("/v1/chats/{chatId}/assignments", { params: { path: { chatId: chat.id } } });
const last = history.data?.collection.at(-1);
check(last?.to?.id === colleague.id && last.text === note, `forwardChat to ${colleague.name} is in the forward history with its text`);

// 7. Errors are typed: a chat that does not exist (404) and a page size out of range (400).
const missing = await client.GET("/v1/chats/{chatId}", { params: { path: { chatId: 999_999_999 } } });
check(
  missing.response.status === 404 && missing.error?.error.code === "chat_not_found",
  `getChat(999999999) is a typed 404 error: ${missing.error && describe(missing.error)}`,
);
const invalid = await client.GET("/v1/chats", { params: { query: { limitation: 5000 } } });
check(
  invalid.response.status === 400 && invalid.error?.error.code === "invalid_limitation",
  `listChats(limitation=5000) is a typed 400 error: ${invalid.error && describe(invalid.error)}`,
);

console.log("typescript client: all checks passed");
