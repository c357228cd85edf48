"""The demo app's request stream: mostly successful calls, with the failures a real
service sees mixed in (bad input, a bug, a throttled table)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

APP_TEMPLATE = Path(__file__).resolve().parent / "app" / "template.yaml"
STACK_NAME = "fluoro-demo"
STAGE = "demo"

# One round of the stream; the demo repeats it. Each entry: (kind, what it shows).
ROUND = ["create", "create_pro", "get", "bad_input", "create", "import", "enterprise", "get"]
DESCRIPTIONS = {
    "create": "a user saved to DynamoDB, a profile file to S3 (201)",
    "create_pro": "the same with annotation plan = \"pro\"",
    "get": "a user read back from DynamoDB and S3",
    "bad_input": "an invalid e-mail: 400, an error (not a fault), handled",
    "enterprise": "a pricing bug: KeyError, a fault with its stack, answered 500",
    "import": "a burst of writes throttled by DynamoDB: 429, a throttle",
}
EXPECTED_STATUS = {"create": 201, "create_pro": 201, "get": 200, "bad_input": 400, "import": 429,
                   "enterprise": 500}


@dataclass
class Sent:
    kind: str
    method: str
    path: str
    status: int
    trace_id: str


def plan(count: int) -> list[str]:
    """``count`` request kinds: whole rounds, then the start of the next one."""
    return [ROUND[i % len(ROUND)] for i in range(count)]


def _request(kind: str, n: int, created: list[str]) -> tuple[str, str, Any]:
    if kind in ("create", "create_pro"):
        return "POST", "/users", {"name": "User %d" % n, "email": "user%d@example.com" % n,
                                  "plan": "pro" if kind == "create_pro" else "free"}
    if kind == "get":
        return "GET", "/users/%s" % (created[-1] if created else "missing"), None
    if kind == "bad_input":
        return "POST", "/users", {"name": "No Mail %d" % n, "email": "not-an-email"}
    if kind == "enterprise":
        return "POST", "/users", {"name": "Big Corp %d" % n, "email": "it%d@bigcorp.example" % n, "plan": "enterprise"}
    if kind == "import":
        return "POST", "/imports", {"users": [{"name": "Imported %d-%d" % (n, i), "email": "imp%d-%d@example.com" % (n, i)}
                                              for i in range(5)]}
    raise ValueError("unknown request kind %r" % kind)


def send(base_url: str, kinds: list[str], advance: Callable[[Sent], None] | None = None) -> list[Sent]:
    """Send the requests in order to ``base_url`` (the stage URL); one ``Sent`` per request."""
    import httpx

    sent: list[Sent] = []
    created: list[str] = []
    with httpx.Client(timeout=60) as client:
        for n, kind in enumerate(kinds):
            method, path, body = _request(kind, n, created)
            response = client.request(method, base_url + path, json=body)
            if kind.startswith("create") and response.status_code == 201:
                created.append(response.json()["userId"])
            trace_id = response.headers.get("x-amzn-trace-id", "").removeprefix("Root=").split(";")[0]
            sent.append(Sent(kind, method, path, response.status_code, trace_id))
            if advance is not None:
                advance(sent[-1])
    return sent
