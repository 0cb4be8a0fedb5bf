"""Checks responses against the OpenAPI document (openapi/openapi.json, SPEC §4).

The harness calls `check_response(method, target, response)` for every response the
end-to-end tests receive through `Api`; a response the document does not describe fails
the test. The operation is looked up by method + path template + status, and the body is
validated with Debian's python3-jsonschema (JSON Schema 2020-12, which OpenAPI 3.1 uses).

One switch, the environment variable CC_OPENAPI_VALIDATE:
  1 (default)  a mismatch raises AssertionError (the test fails)
  report       a mismatch is only recorded (see CC_OPENAPI_REPORT) and printed to stderr
  0            no checking
CC_OPENAPI_REPORT=<file> appends one JSON line per mismatch (in every mode but 0), so a
whole run can be summarised: which operations and fields do not match yet.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import urllib.parse

import jsonschema
from jsonschema.validators import Draft202012Validator

HERE = os.path.dirname(os.path.abspath(__file__))
DOCUMENT_PATH = os.path.normpath(os.path.join(HERE, "..", "..", "openapi", "openapi.json"))

MODE = os.environ.get("CC_OPENAPI_VALIDATE", "1").strip().lower()
REPORT = os.environ.get("CC_OPENAPI_REPORT")

_lock = threading.Lock()


def enabled() -> bool:
    return MODE not in ("0", "off", "false", "no") and not getattr(_local, "suspended", False)


_local = threading.local()


class suspended:
    """`with openapi_check.suspended():` no checking on this thread (a test that probes
    what the document does not describe, and reports it itself)."""

    def __enter__(self):
        _local.suspended = True

    def __exit__(self, *exc):
        _local.suspended = False


class Document:
    """The parsed document with compiled path templates and schema validators."""

    def __init__(self, path: str = DOCUMENT_PATH):
        with open(path, encoding="utf-8") as f:
            self.doc = json.load(f)
        self.templates = []  # (regex, template, path item); literal paths first
        for template, item in self.doc["paths"].items():
            pattern = "^" + "".join(
                "[^/]+" if re.fullmatch(r"\{[^}]+\}", part) else re.escape(part)
                for part in re.split(r"(\{[^}]+\})", template)) + "$"
            self.templates.append((re.compile(pattern), template, item))
        self.templates.sort(key=lambda t: t[1].count("{"))
        self._validators = {}

    def match(self, path: str):
        """(template, path item) for a request path, or (None, None). On the inbound
        endpoints a trailing slash is the same endpoint (SPEC §2)."""
        candidates = [path]
        if path.startswith("/__cc/inbound") and path.endswith("/"):
            candidates.append(path.rstrip("/"))
        for candidate in candidates:
            for regex, template, item in self.templates:
                if regex.match(candidate):
                    return template, item
        return None, None

    def resolve(self, node: dict) -> dict:
        while isinstance(node, dict) and "$ref" in node:
            node = self.pointer(node["$ref"])
        return node

    def pointer(self, ref: str):
        node = self.doc
        for part in ref.lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def errors(self, schema: dict, instance) -> list:
        """Schema problems of `instance` (resolving $ref against the whole document)."""
        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            root = dict(self.doc)
            root.update(schema)
            root.pop("$schema", None)
            validator = Draft202012Validator(root, format_checker=None)
            self._validators[key] = validator
        found = []
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.path)):
            where = "/".join(str(p) for p in error.absolute_path) or "(body)"
            found.append(f"{where}: {error.message[:300]}")
        return found[:10]


_document = None


def document() -> Document:
    global _document
    if _document is None:
        _document = Document()
    return _document


def _media_type(headers) -> str:
    value = headers.get("Content-Type") or ""
    return value.split(";", 1)[0].strip().lower()


def problems_of(method: str, target: str, status: int, headers, body: bytes, parsed) -> tuple:
    """(operation description, [problems]) of one response; no problems = it matches."""
    doc = document()
    method = method.upper()
    path = urllib.parse.urlsplit(target).path or "/"
    template, item = doc.match(path)
    if template is None or (method.lower() not in item and not (method == "HEAD" and "get" in item)):
        # No such route (404 not_found) or method (405 method_not_allowed): the one error shape.
        where = f"{method} {path} (no {'path' if template is None else 'operation'} in the document)"
        if status < 400:
            return where, [f"status {status} for a request the document does not describe"]
        if method == "HEAD" or not body:
            return where, []
        return where, doc.errors({"$ref": "#/components/schemas/Error"}, parsed) if parsed is not None \
            else [f"error body is not JSON: {body[:200]!r}"]
    operation = item["get" if method == "HEAD" else method.lower()]
    where = f"{method} {template} -> {status}"
    responses = operation.get("responses", {})
    response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
    if response is None and status == 404 and isinstance(parsed, dict) \
            and (parsed.get("error") or {}).get("code") == "not_found":
        # The route lives on another listener (admin_listen, metrics_listen): this one
        # has no such path, which is the generic 404 of the document's description.
        return where, doc.errors({"$ref": "#/components/schemas/Error"}, parsed)
    if response is None:
        return where, [f"status {status} is not documented for {method} {template} "
                       f"(documented: {', '.join(sorted(responses))})"]
    response = doc.resolve(response)
    found = []
    for name, spec in (response.get("headers") or {}).items():
        if doc.resolve(spec).get("required") and headers.get(name) is None:
            found.append(f"header {name} is missing")
    content = response.get("content")
    if method == "HEAD":
        return where, found
    if not content:
        if body:
            found.append(f"a body where none is documented: {body[:200]!r}")
        return where, found
    media = _media_type(headers)
    if media not in content:
        found.append(f"Content-Type {media or '(none)'} is not one of {', '.join(sorted(content))}")
        return where, found
    schema = content[media].get("schema")
    if schema is None:
        return where, found
    if media.endswith("json"):
        if parsed is None:
            found.append(f"body is not JSON: {body[:200]!r}")
        else:
            found.extend(doc.errors(schema, parsed))
    else:
        try:
            found.extend(doc.errors(schema, body.decode("utf-8")))
        except UnicodeDecodeError:
            found.append("body is not UTF-8 text")
    return where, found


def check_response(method: str, target: str, response) -> None:
    """Validate one harness Response; fail (or record) a mismatch per CC_OPENAPI_VALIDATE."""
    if not enabled():
        return
    where, found = problems_of(method, target, response.status, response.headers, response.body, response.json)
    if not found:
        return
    record = {"operation": where, "target": target, "problems": found, "body": response.text[:500]}
    if REPORT:
        with _lock, open(REPORT, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
    message = f"response does not match openapi/openapi.json: {where}: " + "; ".join(found) + \
              f"; body={response.text[:1000]!r}"
    if MODE == "report":
        print(f"[openapi] {message}", file=sys.stderr)
        return
    raise AssertionError(message)


def check_raw_response(response) -> None:
    """A response read from a raw socket, whose request the harness cannot tie to it (raw
    tests send partial, pipelined and malformed requests): an error with a body must still
    be the one error shape of the document."""
    if not enabled() or response.status < 400 or not response.body:
        return
    if response.json is None:
        found = [f"error body is not JSON: {response.body[:200]!r}"]
    else:
        found = document().errors({"$ref": "#/components/schemas/Error"}, response.json)
    if not found:
        return
    record = {"operation": f"(raw) -> {response.status}", "target": None, "problems": found,
              "body": response.text[:500]}
    if REPORT:
        with _lock, open(REPORT, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
    message = f"raw response does not match the error shape of openapi/openapi.json: " + "; ".join(found)
    if MODE == "report":
        print(f"[openapi] {message}", file=sys.stderr)
        return
    raise AssertionError(message + f"; body={response.text[:1000]!r}")


__all__ = ["check_response", "check_raw_response", "problems_of", "document", "enabled", "jsonschema"]
