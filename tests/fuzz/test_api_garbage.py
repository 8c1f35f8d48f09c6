"""Generated garbage at every operation in the OpenAPI schema: every path parameter,
query parameter and body field, as anonymous, with a wrong token, as a regular user
and as staff. Whatever arrives, the answer is never a 5xx (except the documented
502/503 of an upstream that is down: every service points at a closed port) and
every 4xx has the error shape ``{"error": {"code", "message"}}``.

In-process (Django's test client, which re-raises a view's exception), so a crash
fails the example with its traceback; tests/fuzz/test_api_schemathesis.py covers
the same schema through a live server.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from accounts.api_tokens import issue_api_token
from tests.fuzz.test_api_schemathesis import seeded, upstream_down  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = [
    (path, method, operation)
    for path, item in SCHEMA["paths"].items()
    for method, operation in item.items()
    if method in ("get", "post", "put", "patch", "delete")
]
UPSTREAM_STATUSES = {502, 503}
CALLERS = ("anonymous", "wrong-token", "regular", "staff")

# Text chosen to break parsers, databases and routers, mixed with arbitrary text.
NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "null",
    "true",
    "maybe",
    "-1",
    "0",
    "9" * 40,
    "-9223372036854775809",
    "1e309",
    "NaN",
    "Infinity",
    "2024-13-45",
    "0000-00-00",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+01:00",
    "2024-01-01T00:00:00+99:00",
    "../../etc/passwd",
    "%00",
    "%2F",
    "' OR 1=1 --",
    "<script>",
    "\u202e\u0000\ufeff",
    "x" * 5000,
    "5b11f4ce-a62d-471e-81fc-a69a8278c7da",
    "00000000-0000-0000-0000-000000000000",
    "lastfm",
    "listenbrainz",
    "carol",
]
texts = st.one_of(
    st.sampled_from(NASTY),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60),
)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def cursors(draw: st.DrawFn) -> str:
    """Cursors whose base64 decodes, so the garbage reaches the position and offset."""
    inner = draw(
        st.one_of(
            texts.map(lambda text: f"p={text}"),
            st.tuples(texts, texts).map(lambda pair: f"o={pair[0]}&p={pair[1]}"),
            texts.map(lambda text: f"r={text}"),
        )
    )
    encoded = base64.b64encode(inner.encode("utf-8", "surrogatepass")).decode()
    return draw(st.sampled_from([encoded, encoded[:-1], encoded + "=="]))


def query_value(name: str) -> st.SearchStrategy[str]:
    values = st.one_of(texts, numbers.map(str))
    return st.one_of(values, cursors()) if name == "cursor" else values


def body_fields(operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    for media in content.values():
        ref = media.get("schema", {}).get("$ref", "")
        component = SCHEMA["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
        return list(component.get("properties", {}))
    return []


@st.composite
def requests_for(draw: st.DrawFn, path: str, method: str, operation: dict[str, Any]) -> dict:
    url = path
    for name in re.findall(r"{(\w+)}", path):
        value = draw(st.one_of(texts, st.integers(min_value=-(2**70), max_value=2**70).map(str)))
        url = url.replace("{" + name + "}", quote(value, safe="") or "0")
    query = {}
    declared = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
    for name in draw(st.lists(st.sampled_from(declared), unique=True)) if declared else []:
        query[name] = draw(query_value(name))
    if draw(st.booleans()):
        query[draw(texts.filter(bool))] = draw(texts)
    if query:
        url += "?" + urlencode(query, encoding="utf-8", errors="surrogatepass")

    body, content_type = None, None
    if method in ("post", "put", "patch"):
        fields = body_fields(operation)
        kind = draw(st.sampled_from(["none", "fields", "json", "raw", "form", "nested"]))
        if kind == "fields" and fields:
            value = {name: draw(json_values) for name in draw(st.lists(st.sampled_from(fields)))}
            body, content_type = json.dumps(value), "application/json"
        elif kind == "json":
            body, content_type = json.dumps(draw(json_values)), "application/json"
        elif kind == "raw":
            body = draw(st.binary(max_size=200))
            content_type = draw(
                st.sampled_from(
                    [
                        "application/json",
                        "application/x-www-form-urlencoded",
                        "multipart/form-data; boundary=x",
                        "multipart/form-data",
                        "text/plain",
                        "application/json; charset=utf-16",
                    ]
                )
            )
        elif kind == "form":
            pairs = {name: draw(texts) for name in fields} | {draw(texts): draw(texts)}
            body = urlencode(pairs, errors="surrogatepass")
            content_type = "application/x-www-form-urlencoded"
        elif kind == "nested":
            depth = draw(st.integers(min_value=900, max_value=60_000))
            body, content_type = "[" * depth + "]" * depth, "application/json"
    return {"url": url, "body": body, "content_type": content_type}


@pytest.fixture
def clients(seeded, upstream_down) -> dict[str, APIClient]:  # noqa: F811
    made = {"anonymous": APIClient(), "wrong-token": APIClient()}
    made["wrong-token"].credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")
    for role in ("regular", "staff"):
        made[role] = APIClient()
        made[role].credentials(HTTP_AUTHORIZATION=f"Token {issue_api_token(user=seeded[role])[1]}")
    return made


def check(response: Any, operation: dict[str, Any], label: str) -> None:
    status = response.status_code
    documented = {int(code) for code in operation.get("responses", {}) if code.isdigit()}
    if status >= 500:
        assert status in UPSTREAM_STATUSES & documented, (
            f"{label}: {status} {response.content[:300]!r}"
        )
    if status >= 400:
        assert response["Content-Type"].startswith("application/json"), (
            f"{label}: {status} not JSON"
        )
        error = response.json().get("error")
        assert isinstance(error, dict), f"{label}: {status} {response.content[:300]!r}"
        for key in ("code", "message"):
            assert isinstance(error.get(key), str), label
            assert error[key], label
    if status == 401:
        assert response["WWW-Authenticate"] == "Token", label


GARBAGE = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize(
    ("path", "method", "operation"),
    OPERATIONS,
    ids=[f"{method.upper()} {path}" for path, method, _ in OPERATIONS],
)
def test_garbage_never_gets_a_5xx_and_4xx_have_the_error_shape(clients, path, method, operation):
    statuses: set[int] = set()

    @GARBAGE
    @given(request=requests_for(path, method, operation), caller=st.sampled_from(CALLERS))
    def call(request: dict, caller: str) -> None:
        client = clients[caller]
        kwargs = {}
        if request["body"] is not None:
            kwargs = {"data": request["body"], "content_type": request["content_type"]}
        response = client.generic(method.upper(), request["url"], **kwargs)
        check(response, operation, f"{caller} {method.upper()} {request['url'][:200]}")
        statuses.add(response.status_code)

    call()
    # The garbage got past authentication to the view, not only to a 401.
    assert statuses - {401}, statuses


def test_every_operation_is_fuzzed():
    assert len(OPERATIONS) >= 20
    assert {method for _, method, _ in OPERATIONS} >= {"get", "post", "delete"}
