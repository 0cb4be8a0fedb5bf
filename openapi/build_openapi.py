#!/usr/bin/env python3
"""Writes openapi/openapi.json, the OpenAPI 3.1 document of cc-inbound (SPEC §2-§4, §6, §7).

The document is the contract the service serves at GET /openapi.json (embedded into the
binary at build time, cmake/EmbedFile.cmake) and the one the end-to-end tests check every
response against (tests/e2e/openapi_check.py). It is generated from this file so that the
error vocabulary of each operation is written once per operation and cannot be half-added;
the committed openapi.json must equal this script's output (ctest `openapi.up_to_date`).

    python3 openapi/build_openapi.py            # rewrite openapi/openapi.json
    python3 openapi/build_openapi.py --check    # exit 1 if the committed file is stale
"""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "openapi.json")

TIME = {"type": "string", "format": "date-time",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$",
        "description": "RFC 3339 UTC with milliseconds"}
TIME_OR_NULL = {"oneOf": [TIME, {"type": "null"}]}
STRING_OR_NULL = {"type": ["string", "null"]}
CURSOR = {"type": ["string", "null"], "description": "pass back as the next page's cursor; null on the last page"}
DOMAIN_NAME = {"type": "string", "minLength": 1, "maxLength": 253,
               "description": "lower-case host name, IDNA/punycode form"}
PLAN = {"type": "string", "enum": ["pulse", "signal", "clarity", "command"]}
KEY_ID = {"type": "string", "pattern": "^key_[0-9A-Za-z]+$"}
PREFIX = {"type": "string", "pattern": "^cc_[0-9A-Za-z]{8}$"}
FULL_KEY = {"type": "string", "pattern": "^cc_[0-9A-Za-z]{38}$",
            "description": "the full key: shown once, in this response only"}
COUNT = {"type": "integer", "minimum": 0}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, required=None, *, strict=True, description=None) -> dict:
    """An object schema; required defaults to every property; strict forbids others."""
    schema = {"type": "object", "properties": properties,
              "required": list(properties) if required is None else list(required)}
    if strict:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    return schema


KEY_PROPERTIES = {
    "id": KEY_ID,
    "domain": DOMAIN_NAME,
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "prefix": PREFIX,
    "status": {"type": "string", "enum": ["active", "revoked", "expired"]},
    "created_at": TIME,
    "last_used_at": TIME_OR_NULL,
    "last_used_ip": STRING_OR_NULL,
    "revoked_at": TIME_OR_NULL,
    "expires_at": TIME_OR_NULL,
    "rolled_to": {"oneOf": [KEY_ID, {"type": "null"}], "description": "the successor's id after a roll, else null"},
    "allowed_ips": {"type": "array", "maxItems": 50, "items": {"type": "string"},
                    "description": "IPv4/IPv6 addresses or CIDR blocks; [] = any address"},
    "exposed_at": TIME_OR_NULL,
    "exposed_origin": STRING_OR_NULL,
}

SCHEMAS = {
    "ErrorDetail": obj({"field": {"type": "string"}, "problem": {"type": "string", "minLength": 1}}),
    "ErrorBody": obj({
        "code": {"type": "string", "pattern": "^[a-z_]+$"},
        "message": {"type": "string", "minLength": 1, "pattern": r"\S"},
        "details": {"type": "array", "items": ref("ErrorDetail")},
        "request_id": {"type": "string", "minLength": 1, "maxLength": 128},
    }, ["code", "message", "request_id"]),
    "Error": obj({"error": ref("ErrorBody")},
                 description="The one error shape of every route (details only where it applies)."),
    "Event": {
        "type": "object",
        "description": "One conversion event (SPEC §2). Unknown top-level fields are allowed and kept in the raw body.",
        "properties": {
            "event": {"type": "string", "minLength": 1, "maxLength": 64},
            "email": {"type": "string", "maxLength": 254},
            "phone": {"type": "string"},
            "external_id": {"type": ["string", "integer"]},
            "click_id": {"type": "string", "maxLength": 512},
            "value": {"type": ["number", "string"]},
            "currency": {"type": "string"},
            "event_id": {"type": ["string", "integer"]},
            "timestamp": {"type": ["string", "number"]},
            "properties": {"type": ["object", "string"]},
        },
        "required": ["event"],
    },
    "EventForm": {
        "type": "object",
        "description": "The same fields, form-encoded: every value a string.",
        "additionalProperties": {"type": "string"},
        "required": ["event"],
    },
    "Batch": obj({"events": {"type": "array", "minItems": 1, "maxItems": 500, "items": {}}},
                 strict=False, description="Other top-level fields are ignored."),
    "Accepted": obj({"status": {"const": "accepted"}, "event_id": {"type": "string", "minLength": 1}}),
    "Duplicate": obj({"status": {"const": "duplicate"}, "event_id": {"type": "string", "minLength": 1}}),
    "BatchItemError": obj({
        "code": {"type": "string", "pattern": "^[a-z_]+$"},
        "message": {"type": "string", "minLength": 1},
        "details": {"type": "array", "items": ref("ErrorDetail")},
    }, ["code", "message"]),
    "BatchResult": obj({
        "accepted": COUNT, "duplicates": COUNT, "rejected": COUNT,
        "results": {"type": "array", "items": {"oneOf": [
            obj({"index": COUNT, "status": {"enum": ["accepted", "duplicate"]}, "event_id": {"type": "string", "minLength": 1}}),
            obj({"index": COUNT, "status": {"const": "rejected"}, "error": ref("BatchItemError")}),
        ]}},
    }),
    "Health": obj({"status": {"const": "ok"}}),
    "Ready": obj({"status": {"const": "ready"}}, strict=False),
    "Domain": obj({
        "domain": DOMAIN_NAME, "plan": PLAN,
        "key_limit": {"type": ["integer", "null"], "minimum": 1, "description": "null = unlimited"},
        "active_keys": COUNT, "created_at": TIME,
    }),
    "DomainPage": obj({"domains": {"type": "array", "items": ref("Domain")}, "next": CURSOR}),
    "PutDomain": obj({"plan": PLAN}),
    "Key": obj(KEY_PROPERTIES, description="Never the key value or its hash."),
    "KeyCreated": obj({**KEY_PROPERTIES, "key": FULL_KEY}),
    "KeyRolled": obj({**KEY_PROPERTIES, "key": FULL_KEY, "rolled_from": ref("Key")},
                     description="The new key, its full value once, and the old key with its new expires_at."),
    "KeyListing": obj({
        "domain": DOMAIN_NAME, "plan": PLAN,
        "key_limit": {"type": ["integer", "null"], "minimum": 1},
        "active_keys": COUNT,
        "keys": {"type": "array", "items": ref("Key"), "description": "newest first"},
    }),
    "CreateKey": obj({
        "domain": {"type": "string"},
        "name": {"type": "string", "description": "1-100 characters after trimming"},
        "expires_at": {"type": "string", "format": "date-time", "description": "RFC 3339, in the future"},
        "allowed_ips": {"type": "array", "maxItems": 50, "items": {"type": "string"}},
    }, ["domain", "name"]),
    "PatchKey": obj({
        "name": {"type": "string"},
        "allowed_ips": {"type": "array", "maxItems": 50, "items": {"type": "string"}},
    }, [], description="Rename, or change the allowed addresses (SPEC §7)."),
    "RollKey": obj({"grace_seconds": {"type": "integer", "minimum": 0, "maximum": 2592000,
                                      "description": "default 86400; 0 = the old key expires at once"}}, []),
    "StoredEvent": obj({
        "event_id": {"type": "string"},
        "event": {"type": "string"},
        "domain": DOMAIN_NAME,
        "key_id": KEY_ID,
        "key_name": {"type": ["string", "null"]},
        "key_prefix": {"oneOf": [PREFIX, {"type": "null"}], "description": "null only for events stored before prefixes were kept"},
        "email": STRING_OR_NULL,
        "email_sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
        "phone": STRING_OR_NULL,
        "phone_sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
        "external_id": STRING_OR_NULL,
        "click_id": STRING_OR_NULL,
        "value": {"type": ["number", "null"], "minimum": 0, "description": "the exact decimal as sent"},
        "value_decimal": STRING_OR_NULL,
        "currency": {"type": ["string", "null"], "pattern": "^[A-Z]{3}$"},
        "timestamp": TIME,
        "received_at": TIME,
        "properties": {"type": ["object", "null"]},
        "raw": {"type": "string"},
    }, ["event_id", "event", "domain", "key_id", "key_name", "key_prefix", "email", "email_sha256",
        "phone", "phone_sha256", "external_id", "click_id", "value", "currency", "timestamp",
        "received_at", "properties", "raw"]),
    "EventPage": obj({"events": {"type": "array", "items": ref("StoredEvent")}, "next": CURSOR}),
    "AuditEntry": obj({
        "id": {"type": ["integer", "string"]},
        "at": TIME,
        "action": {"type": "string", "pattern": r"^[a-z_]+\.[a-z_]+$"},
        "actor": {"type": "string", "description": "admin token id (adm_...) or cli"},
        "client_ip": STRING_OR_NULL,
        "domain": STRING_OR_NULL,
        "key_id": {"oneOf": [KEY_ID, {"type": "null"}]},
        "details": {"type": ["object", "null"]},
    }),
    "AuditPage": obj({"entries": {"type": "array", "items": ref("AuditEntry")}, "next": CURSOR}),
    "Usage": obj({
        "key_id": KEY_ID,
        "hours": {"type": "array", "description": "oldest first, one entry per hour", "items": obj({
            "hour": TIME, "accepted": COUNT, "duplicate": COUNT, "rejected": COUNT, "auth_failed": COUNT})},
    }),
    "Rejection": obj({
        "at": TIME,
        "key_id": KEY_ID,
        "key_prefix": PREFIX,
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "code": {"type": "string", "pattern": "^[a-z_]+$"},
        "details": {"type": "array", "items": ref("ErrorDetail"), "description": "field and problem, never values"},
        "request_id": {"type": "string"},
        "client_ip": STRING_OR_NULL,
    }, strict=False),
    "RejectionPage": obj({"rejections": {"type": "array", "items": ref("Rejection")}, "next": CURSOR}),
    "LeakReport": {"type": "array", "items": obj({
        "token": {"type": "string"}, "type": {"type": "string"},
        "url": {"type": "string"}, "source": {"type": "string"}}, ["token"], strict=False)},
    "LeakResult": {"type": "array", "items": obj({
        "token_raw": {"type": "string"}, "token_type": {"type": "string"},
        "label": {"enum": ["true_positive", "false_positive"]}})},
}

# ----------------------------------------------------------------------------- responses

# Every route can meet these: malformed HTTP (a request without Host included), a header
# block over the limit, a body over the route's limit, a failure, storage unavailable or
# the server shutting down.
COMMON = {400: ["bad_request"], 413: ["payload_too_large"], 431: ["request_header_fields_too_large"],
          500: ["internal_error"], 503: ["unavailable"]}
DESCRIPTIONS = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
                409: "Conflict", 413: "Payload too large", 415: "Unsupported media type",
                429: "Rate limited", 431: "Request header fields too large", 500: "Internal error",
                503: "Unavailable"}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying",
                               "required": True, "schema": {"type": "integer", "minimum": 0}}}
REQUEST_ID_HEADER = {"X-Request-Id": {"description": "the request id (the caller's own when valid)",
                                      "required": True, "schema": {"type": "string"}}}


def error_response(status: int, codes) -> dict:
    schema = {"allOf": [ref("Error"), {"properties": {"error": {"properties": {"code": {"enum": sorted(set(codes))}}}}}]}
    headers = dict(REQUEST_ID_HEADER)
    if status in (429, 503):
        headers.update(RETRY_AFTER)
    if status == 401:
        headers["WWW-Authenticate"] = {"description": "Bearer, on admin routes", "schema": {"type": "string"}}
    return {"description": f"{DESCRIPTIONS[status]}: {', '.join(sorted(set(codes)))}",
            "headers": headers, "content": {"application/json": {"schema": schema}}}


def json_response(description: str, schema: dict) -> dict:
    return {"description": description, "headers": dict(REQUEST_ID_HEADER),
            "content": {"application/json": {"schema": schema}}}


def no_content(description: str) -> dict:
    return {"description": description, "headers": dict(REQUEST_ID_HEADER)}


def responses(ok: dict, errors: dict) -> dict:
    """ok: {status: response}; errors: {status: [codes]} merged with COMMON."""
    merged = {status: list(codes) for status, codes in COMMON.items()}
    for status, codes in errors.items():
        merged.setdefault(status, []).extend(codes)
    out = {str(status): resp for status, resp in ok.items()}
    for status in sorted(merged):
        codes = sorted(set(merged[status]))
        name = f"E{status}_" + "_".join(c.replace("_", "") for c in codes)
        ERROR_RESPONSES.setdefault(name, error_response(status, codes))
        out[str(status)] = {"$ref": f"#/components/responses/{name}"}
    return out


# Error responses shared by operations, one per (status, codes): components/responses.
ERROR_RESPONSES: dict = {}


def json_body(schema: dict, required=True, description=None) -> dict:
    body = {"required": required, "content": {"application/json": {"schema": schema}}}
    if description:
        body["description"] = description
    return body


def query(name, schema, description, required=False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def path_param(name, schema, description) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


ADMIN = [{"adminBearer": []}]
INBOUND_KEY = [{"inboundKey": []}]
PUBLIC: list = []

ADMIN_BAD = {400: ["invalid_json", "validation_failed"], 401: ["unauthorized"]}
ADMIN_BODY = {**ADMIN_BAD, 415: ["unsupported_media_type"]}
INBOUND_ERRORS = {
    400: ["invalid_json", "validation_failed"],
    401: ["missing_api_key", "invalid_api_key", "revoked_api_key", "expired_api_key"],
    403: ["domain_mismatch", "ip_not_allowed", "browser_request_refused"],
    415: ["unsupported_media_type"],
    429: ["rate_limited"],
}


def merge(*parts) -> dict:
    out: dict = {}
    for part in parts:
        for status, codes in part.items():
            out.setdefault(status, []).extend(codes)
    return out


def op(op_id, summary, tag, security, ok, errors, *, params=(), body=None, description=None) -> dict:
    operation = {"operationId": op_id, "summary": summary, "tags": [tag], "security": security}
    if description:
        operation["description"] = description
    if params:
        operation["parameters"] = list(params)
    if body:
        operation["requestBody"] = body
    operation["responses"] = responses(ok, errors)
    return operation


DOMAIN_PARAM = path_param("domain", {"type": "string"}, "the domain name (lower-cased by the service)")
KEY_PARAM = path_param("id", KEY_ID | {"pattern": "^.+$"}, "the key id (key_...)")
LIMIT = query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "page size (default 50)")
BEFORE = query("before", {"type": "string"}, "the `next` cursor of the previous page")
DOMAIN_QUERY = query("domain", {"type": "string"}, "the domain (lower-cased by the service)", required=True)
DOMAIN_FILTER = query("domain", {"type": "string"}, "the domain (lower-cased by the service)")

INBOUND_PARAMS = [{"name": "X-CC-Api-Key", "in": "header", "required": True,
                   "schema": {"type": "string"}, "description": "the inbound integration key (cc_...)"},
                  {"name": "Content-Encoding", "in": "header", "required": False,
                   "schema": {"enum": ["gzip", "deflate", "identity"]},
                   "description": "gzip or deflate bodies are decompressed; the size limits apply after decompression"}]

EVENT_OK = {202: json_response("Accepted: durably committed", ref("Accepted")),
            200: json_response("Duplicate: this event_id is already stored for the domain", ref("Duplicate"))}

HTML = {"description": "The dashboard page", "headers": dict(REQUEST_ID_HEADER),
        "content": {"text/html": {"schema": {"type": "string"}}}}
ASSET = {"description": "A dashboard asset", "headers": dict(REQUEST_ID_HEADER),
         "content": {"text/html": {"schema": {"type": "string"}},
                     "text/css": {"schema": {"type": "string"}},
                     "application/javascript": {"schema": {"type": "string"}},
                     "text/javascript": {"schema": {"type": "string"}},
                     "image/svg+xml": {"schema": {"type": "string"}}}}

NOT_MODIFIED = {"description": "Not modified: If-None-Match names the current ETag (no body)",
                "headers": dict(REQUEST_ID_HEADER)}
IF_NONE_MATCH = {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
                 "description": "an ETag from an earlier answer: 304 when the asset is unchanged"}
REDIRECT = {"description": "Moved permanently to /dashboard/", "headers": dict(REQUEST_ID_HEADER) | {
    "Location": {"schema": {"const": "/dashboard/"}, "description": "/dashboard/"}}}

PATHS = {
    "/__cc/inbound": {"post": op(
        "sendEvent", "Send one conversion event", "inbound", INBOUND_KEY, EVENT_OK, INBOUND_ERRORS,
        params=INBOUND_PARAMS,
        body={"required": True, "description": "at most 32 KiB (after decompression)", "content": {
            "application/json": {"schema": ref("Event")},
            "application/x-www-form-urlencoded": {"schema": ref("EventForm")}}},
        description="A trailing slash (/__cc/inbound/) is the same endpoint.")},
    "/__cc/inbound/batch": {"post": op(
        "sendBatch", "Send up to 500 events", "inbound", INBOUND_KEY,
        {200: json_response("Per-event results; valid events are stored even when others are rejected",
                            ref("BatchResult"))},
        INBOUND_ERRORS, params=INBOUND_PARAMS,
        body=json_body(ref("Batch"), description="at most 1 MiB (after decompression)"),
        description="A trailing slash (/__cc/inbound/batch/) is the same endpoint.")},
    "/__cc/leaks": {"post": op(
        "reportLeaks", "GitHub secret-scanning partner alerts", "inbound", [{"githubSignature": []}],
        {200: json_response("One label per reported token", ref("LeakResult"))},
        {400: ["invalid_json", "validation_failed"], 401: ["invalid_signature"], 404: ["not_found"],
         415: ["unsupported_media_type"]},
        params=[{"name": "Github-Public-Key-Identifier", "in": "header", "required": True, "schema": {"type": "string"}},
                {"name": "Github-Public-Key-Signature", "in": "header", "required": True, "schema": {"type": "string"},
                 "description": "base64 DER ECDSA P-256 / SHA-256 signature over the raw body"}],
        body=json_body(ref("LeakReport")),
        description="404 when leak_report_keys_file is not configured. Each reported active key is revoked at once.")},
    "/healthz": {"get": op("health", "Liveness", "operations", PUBLIC,
                           {200: json_response("The process is alive", ref("Health"))}, {})},
    "/readyz": {"get": op("ready", "Readiness", "operations", PUBLIC,
                          {200: json_response("Storage ready, not draining", ref("Ready"))}, {},
                          description="503 when not ready; the error says which check failed.")},
    "/metrics": {"get": op("metrics", "Prometheus metrics", "operations", PUBLIC,
                           {200: {"description": "Prometheus text exposition format", "headers": dict(REQUEST_ID_HEADER),
                                  "content": {"text/plain": {"schema": {"type": "string"}}}}}, {})},
    "/openapi.json": {"get": op("openapi", "This document", "operations", PUBLIC,
                                {200: json_response("The OpenAPI 3.1 document", {"type": "object", "required": ["openapi", "paths"]})},
                                {})},
    "/dashboard": {"get": op("dashboardRedirect", "Redirects to /dashboard/", "dashboard", PUBLIC, {301: REDIRECT}, {})},
    "/dashboard/": {"get": op("dashboard", "The dashboard page", "dashboard", PUBLIC, {200: HTML, 304: NOT_MODIFIED}, {},
                              params=[IF_NONE_MATCH])},
    "/dashboard/{asset}": {"get": op(
        "dashboardAsset", "A dashboard asset (script, style sheet)", "dashboard", PUBLIC, {200: ASSET, 304: NOT_MODIFIED},
        {404: ["not_found"]}, params=[path_param("asset", {"type": "string"}, "the asset's file name"), IF_NONE_MATCH])},
    "/admin/domains": {"get": op(
        "listDomains", "List domains, by name", "domains", ADMIN,
        {200: json_response("A page of domains", ref("DomainPage"))}, ADMIN_BAD,
        params=[query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "page size (default 100)"),
                query("after", {"type": "string"}, "the `next` cursor of the previous page")])},
    "/admin/domains/{domain}": {
        "put": op("putDomain", "Create a domain or change its plan", "domains", ADMIN,
                  {200: json_response("The domain", ref("Domain"))}, ADMIN_BODY,
                  params=[DOMAIN_PARAM], body=json_body(ref("PutDomain"))),
        "get": op("getDomain", "One domain", "domains", ADMIN,
                  {200: json_response("The domain", ref("Domain"))},
                  merge(ADMIN_BAD, {404: ["domain_not_found"]}), params=[DOMAIN_PARAM]),
        "delete": op("deleteDomain", "Delete a domain without keys", "domains", ADMIN,
                     {204: no_content("Deleted")},
                     merge(ADMIN_BAD, {404: ["domain_not_found"], 409: ["domain_has_keys"]}), params=[DOMAIN_PARAM]),
    },
    "/admin/keys": {
        "post": op("createKey", "Create a key", "keys", ADMIN,
                   {201: json_response("The key object and, this once, the full key", ref("KeyCreated"))},
                   merge(ADMIN_BODY, {404: ["domain_not_found"], 409: ["plan_limit_reached"]}),
                   body=json_body(ref("CreateKey"))),
        "get": op("listKeys", "The keys of a domain, newest first", "keys", ADMIN,
                  {200: json_response("The domain's counts and keys", ref("KeyListing"))},
                  merge(ADMIN_BAD, {404: ["domain_not_found"]}), params=[DOMAIN_QUERY]),
    },
    "/admin/keys/{id}": {
        "get": op("getKey", "One key", "keys", ADMIN, {200: json_response("The key", ref("Key"))},
                  merge(ADMIN_BAD, {404: ["key_not_found"]}), params=[KEY_PARAM]),
        "patch": op("patchKey", "Rename a key or set its allowed IPs", "keys", ADMIN,
                    {200: json_response("The key", ref("Key"))},
                    merge(ADMIN_BODY, {404: ["key_not_found"]}), params=[KEY_PARAM], body=json_body(ref("PatchKey"))),
        "delete": op("deleteKey", "Delete a key permanently", "keys", ADMIN, {204: no_content("Deleted")},
                     merge(ADMIN_BAD, {404: ["key_not_found"]}), params=[KEY_PARAM]),
    },
    "/admin/keys/{id}/revoke": {"post": op(
        "revokeKey", "Revoke a key (a no-op on a revoked key)", "keys", ADMIN,
        {200: json_response("The key", ref("Key"))}, merge(ADMIN_BAD, {404: ["key_not_found"]}), params=[KEY_PARAM])},
    "/admin/keys/{id}/restore": {"post": op(
        "restoreKey", "Restore a revoked key", "keys", ADMIN,
        {200: json_response("The key", ref("Key"))},
        merge(ADMIN_BAD, {404: ["key_not_found"], 409: ["plan_limit_reached"]}), params=[KEY_PARAM])},
    "/admin/keys/{id}/roll": {"post": op(
        "rollKey", "Rotate a key: a new key, the old one expiring after a grace", "keys", ADMIN,
        {201: json_response("The new key (full value once) and the old one as rolled_from", ref("KeyRolled"))},
        merge(ADMIN_BODY, {404: ["key_not_found"], 409: ["key_already_rolled", "key_not_active"]}),
        params=[KEY_PARAM], body=json_body(ref("RollKey"), required=False),
        description="Allowed at the plan limit. Only an active key not rolled yet can be rolled.")},
    "/admin/keys/{id}/usage": {"get": op(
        "keyUsage", "Hourly usage of a key", "keys", ADMIN,
        {200: json_response("Counts per hour, oldest first", ref("Usage"))},
        merge(ADMIN_BAD, {404: ["key_not_found"]}),
        params=[KEY_PARAM, query("hours", {"type": "integer", "minimum": 1, "maximum": 720}, "hours back (default 48)")])},
    "/admin/events": {"get": op(
        "listEvents", "Stored events, newest first", "events", ADMIN,
        {200: json_response("A page of events", ref("EventPage"))},
        merge(ADMIN_BAD, {404: ["domain_not_found"]}),
        params=[DOMAIN_QUERY, LIMIT, BEFORE,
                query("key_id", {"type": "string"}, "only events sent with this key"),
                query("event", {"type": "string"}, "only events of this name"),
                query("event_id", {"type": "string"}, "only the event with this id"),
                query("since", {"type": "string", "format": "date-time"}, "received at or after (RFC 3339)"),
                query("until", {"type": "string", "format": "date-time"}, "received before (RFC 3339)")])},
    "/admin/events/{event_id}": {"get": op(
        "getEvent", "One stored event", "events", ADMIN,
        {200: json_response("The event", ref("StoredEvent"))},
        merge(ADMIN_BAD, {404: ["event_not_found", "domain_not_found"]}),
        params=[path_param("event_id", {"type": "string"}, "the event's event_id"), DOMAIN_QUERY])},
    "/admin/audit": {"get": op(
        "listAudit", "Who did what, newest first", "events", ADMIN,
        {200: json_response("A page of audit entries", ref("AuditPage"))},
        merge(ADMIN_BAD, {404: ["domain_not_found"]}), params=[DOMAIN_QUERY, LIMIT, BEFORE])},
    "/admin/rejections": {"get": op(
        "listRejections", "Recent refused inbound requests of a domain, newest first", "events", ADMIN,
        {200: json_response("A page of rejections", ref("RejectionPage"))},
        merge(ADMIN_BAD, {404: ["domain_not_found"]}), params=[DOMAIN_QUERY, LIMIT, BEFORE])},
}


def add_preflights(paths: dict) -> None:
    """Every admin path answers a CORS preflight (no token needed)."""
    for path, item in paths.items():
        if not path.startswith("/admin"):
            continue
        item["options"] = {
            "operationId": "preflight" + "".join(p.strip("{}").title() for p in path.split("/")[2:]).replace("_", ""),
            "summary": "CORS preflight", "tags": ["cors"], "security": PUBLIC,
            "parameters": [p for p in next(iter(item.values())).get("parameters", []) if p["in"] == "path"],
            "responses": responses({204: {"description": "Allowed (Access-Control-* headers for a configured origin)",
                                          "headers": dict(REQUEST_ID_HEADER)}},
                                   {403: ["origin_not_allowed"]}),
        }


def document() -> dict:
    paths = json.loads(json.dumps(PATHS))
    add_preflights(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cc-inbound",
            "version": "0.1.0",
            "summary": "CleanClicks inbound conversion events and the admin API of their keys",
            "description": "Every response carries X-Request-Id. Every error has one shape: "
                           "{\"error\":{\"code\",\"message\",\"details\"?,\"request_id\"}}. "
                           "A request that matches no path is 404 not_found; a method a path does not "
                           "have is 405 method_not_allowed (with Allow). HEAD is answered wherever GET is. "
                           "With admin_listen or metrics_listen set, the admin routes or /metrics are "
                           "served only on that listener; the others answer them 404 not_found.",
            "license": {"name": "Proprietary", "identifier": "LicenseRef-CleanClicks"},
        },
        "servers": [{"url": "/", "description": "this server"}],
        "tags": [{"name": "inbound", "description": "event intake (SPEC §2, §7)"},
                 {"name": "operations", "description": "health, readiness, metrics (SPEC §4)"},
                 {"name": "dashboard", "description": "the web dashboard (SPEC §6)"},
                 {"name": "domains", "description": "admin: domains and plans (SPEC §3)"},
                 {"name": "keys", "description": "admin: inbound keys (SPEC §3, §7)"},
                 {"name": "events", "description": "admin: events, audit, rejections (SPEC §3, §7)"},
                 {"name": "cors", "description": "admin CORS preflights"}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "responses": dict(sorted(ERROR_RESPONSES.items())),
            "securitySchemes": {
                "adminBearer": {"type": "http", "scheme": "bearer", "description": "an admin token"},
                "inboundKey": {"type": "apiKey", "in": "header", "name": "X-CC-Api-Key",
                               "description": "an inbound integration key; never in the query string"},
                "githubSignature": {"type": "apiKey", "in": "header", "name": "Github-Public-Key-Signature",
                                    "description": "GitHub's signature over the raw body"},
            },
        },
    }


def render() -> str:
    return json.dumps(document(), indent=1, ensure_ascii=False) + "\n"


def main(argv) -> int:
    text = render()
    if "--check" in argv:
        with open(OUTPUT, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{OUTPUT} is stale: run python3 openapi/build_openapi.py", file=sys.stderr)
                return 1
        return 0
    with open(OUTPUT, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
