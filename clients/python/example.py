"""A dashboard's day with Switchboard, through the client openapi-python-client
generates from openapi.json. Every call is typed; error answers parse into ErrorBody
with an ErrorCode enum.

    SWITCHBOARD_URL=http://127.0.0.1:8080 SWITCHBOARD_TOKEN=sbo_... python example.py
"""

import os
import time

from switchboard_client import AuthenticatedClient
from switchboard_client.api.chats import (
    forward_chat,
    get_chat,
    list_chat_assignments,
    list_chats,
    read_chat,
)
from switchboard_client.api.messages import list_chat_messages, send_chat_message
from switchboard_client.api.operators import list_operators
from switchboard_client.models import (
    ChatList,
    ChatState,
    ErrorBody,
    ErrorCode,
    ForwardRequest,
    SelectorName,
    SendChatMessage,
)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"check failed: {what}")
    print(f"ok  {what}")


def ok(response):
    """The parsed answer of a successful call; an error answer stops the script."""
    if isinstance(response.parsed, ErrorBody):
        error = response.parsed.error
        raise SystemExit(f"{response.status_code} {error.code.value}: {error.message} (request {error.request_id})")
    return response.parsed


client = AuthenticatedClient(
    base_url=os.environ.get("SWITCHBOARD_URL", "http://127.0.0.1:8080"),
    token=os.environ["SWITCHBOARD_TOKEN"],
    raise_on_unexpected_status=True,
)

# 1. The unread queue: open chats with unread messages, 5 per page (SmartSender's selector[name]).
unread: ChatList = ok(
    list_chats.sync_detailed(
        client=client, selectorname=SelectorName.UNREAD, state=ChatState.OPEN, limitation=5
    )
)
check(
    len(unread.collection) > 0,
    f"list_chats(selector[name]=unread, state=open) gives {len(unread.collection)} chats of {unread.cursor.total}",
)
check(
    all(c.unread_messages > 0 and c.state == ChatState.OPEN for c in unread.collection),
    "every listed chat is open and has unread messages",
)
chat = unread.collection[0]

# 2. Search: part of the contact's name finds the chat.
term = chat.contact.name[:4]
found = ok(list_chats.sync_detailed(client=client, term=term, limitation=20))
check(any(c.id == chat.id for c in found.collection), f"list_chats(term={term!r}) finds chat {chat.id}")

# 3. Open the chat, then mark it read.
got = get_chat.sync_detailed(chat.id, client=client)
check(ok(got).id == chat.id and "etag" in got.headers, f"get_chat({chat.id}) answers the chat with an ETag")
check(ok(read_chat.sync_detailed(chat.id, client=client)).state, "read_chat answers state: true")
check(ok(get_chat.sync_detailed(chat.id, client=client)).unread_messages == 0, "the chat has no unread messages left")

# 4. Answer the contact; a retry with the same Idempotency-Key gives back the same message.
key = f"example-{time.time_ns()}"
body = SendChatMessage(text="Thanks for writing in! Looking into it now.")
sent = send_chat_message.sync_detailed(chat.id, client=client, body=body, idempotency_key=key)
message = ok(sent)
check(sent.status_code == 201 and message.content.text == body.text, f"send_chat_message wrote message {message.id}")
retried = send_chat_message.sync_detailed(chat.id, client=client, body=body, idempotency_key=key)
check(retried.status_code == 200 and ok(retried).id == message.id, "a retry with the same Idempotency-Key answers the same message")

# 5. Page through the history: page 1, then the page before its oldest message (keyset).
page = ok(list_chat_messages.sync_detailed(chat.id, client=client, page=1, limitation=2))
check(page.collection[0].id == message.id, "list_chat_messages page 1 starts with the newest message")
oldest = page.collection[-1]
older = ok(list_chat_messages.sync_detailed(chat.id, client=client, before=oldest.id, limit=10))
check(
    all(m.id < oldest.id for m in older.collection),
    f"list_chat_messages(before={oldest.id}) gives {len(older.collection)} older messages",
)

# 6. Forward the chat to another operator, with a note for them.
operators = ok(list_operators.sync_detailed(client=client))
current = chat.operator.id if chat.operator else None
colleague = next(o for o in operators.collection if o.active and o.id != current)
note = "VIP customer, please call back"
check(
    ok(forward_chat.sync_detailed(chat.id, colleague.id, client=client, body=ForwardRequest(text=note))).state,
    f"forward_chat to {colleague.name} answers state: true",
)
last = ok(list_chat_assignments.sync_detailed(chat.id, client=client)).collection[-1]
check(last.to.id == colleague.id and last.text == note, "the forward is in the chat's history with its text")

# 7. Errors are typed: a chat that does not exist (404) and a page size out of range (400).
missing = get_chat.sync_detailed(999_999_999, client=client)
check(
    missing.status_code == 404
    and isinstance(missing.parsed, ErrorBody)
    and missing.parsed.error.code == ErrorCode.CHAT_NOT_FOUND,
    f"get_chat(999999999) is a typed 404 error: {missing.parsed.error.code.value}",
)
invalid = list_chats.sync_detailed(client=client, limitation=5000)
check(
    invalid.status_code == 400
    and isinstance(invalid.parsed, ErrorBody)
    and invalid.parsed.error.code == ErrorCode.INVALID_LIMITATION,
    f"list_chats(limitation=5000) is a typed 400 error: {invalid.parsed.error.code.value}",
)

print("python client: all checks passed")
