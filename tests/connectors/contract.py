"""Contract tests against the vendors' official OpenAPI descriptions in `shared/vendor/`.

`Spec` loads one description and checks, with jsonschema, that a request a connector
sent is one the vendor documents: the method and path match an operation (path
templates included), every query parameter is declared and valid, required parameters
are present, the operation is not deprecated, and the JSON body validates against the
operation's request schema. Responses for the tests are taken from the description's
examples and validated the same way, so a fake answer cannot drift from the real one.

OpenAPI 3.0 schemas are adapted to JSON Schema before validation: `nullable: true`
admits null, and in requests a `readOnly` property is refused (the vendor ignores or
rejects it).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import referencing
import referencing.jsonschema
import respx

VENDOR = Path(__file__).parents[2] / ".." / "shared" / "vendor"

SPECS = {
    "jira": "jira/openapi/swagger-v3.v3.json",
    "github": "github/openapi/github-issues.openapi.json",
    "pagerduty-events": "pagerduty/openapi/events-v2.openapiv3.json",
    "pagerduty": "pagerduty/openapi/rest.openapiv3.json",
    "sentry": "sentry/openapi/openapi-derefed.json",
    "datadog": "datadog/openapi/v1.openapi.yaml",
}

_EXAMPLE_KEYS = frozenset({"summary", "description", "value", "externalValue"})


class ContractError(AssertionError):
    """A request or response does not match the vendor's description."""


@dataclass(frozen=True)
class Operation:
    """One documented operation: `POST /rest/api/3/issue`."""

    method: str
    template: str
    definition: dict[str, Any]
    pointer: str

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.template}"


@dataclass
class Spec:
    """One vendor's OpenAPI description, ready to validate against.

    Args:
        name: A key of `SPECS`.
        partial_bodies: Operations (`"PUT /path/{x}/"`) whose request schema lists every
            field as required although the vendor documents a partial update; for those
            only the fields sent are checked (see `sentry()` for the one case).
    """

    name: str
    document: dict[str, Any]
    partial_bodies: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        self.base_path = httpx.URL(self.document.get("servers", [{}])[0].get("url", "/")).path
        self._registries = {
            mode: referencing.Registry().with_resource(
                f"urn:{self.name}:{mode}",
                referencing.Resource(
                    contents=_adapt(copy.deepcopy(self.document), request=mode == "request"),
                    specification=referencing.jsonschema.DRAFT4,
                ),
            )
            for mode in ("request", "response")
        }

    # --- operations -----------------------------------------------------------------------

    def operation(self, method: str, path: str) -> Operation:
        """The documented operation `method path` matches; literal templates win."""
        if self.base_path not in ("", "/") and path.startswith(self.base_path):
            path = path[len(self.base_path) :]
        candidates = []
        for template, item in self.document["paths"].items():
            if re.fullmatch(_template_regex(template), path):
                candidates.append((template.count("{"), template, item))
        if not candidates:
            raise ContractError(f"{self.name}: no path in the description matches {path}")
        candidates.sort(key=lambda c: c[0])
        for _, template, item in candidates:
            if method.lower() in item:
                pointer = f"/paths/{_escape(template)}/{method.lower()}"
                return Operation(method.lower(), template, item[method.lower()], pointer)
        templates = ", ".join(t for _, t, _ in candidates)
        raise ContractError(f"{self.name}: {method.upper()} is not documented for {templates}")

    # --- requests -------------------------------------------------------------------------

    def check_request(self, request: httpx.Request) -> Operation:
        """Validate one request; raise `ContractError` naming what is wrong."""
        operation = self.operation(request.method, request.url.path)
        if operation.definition.get("deprecated"):
            raise ContractError(f"{self.name}: {operation} is deprecated; do not use it")
        parameters = self._parameters(operation)
        path_values = re.fullmatch(
            _template_regex(operation.template),
            request.url.path[len(self.base_path) :]
            if self.base_path not in ("", "/")
            else request.url.path,
        )
        assert path_values is not None
        for name, value in path_values.groupdict().items():
            spec = parameters.get(("path", name))
            if spec is None:
                raise ContractError(f"{operation}: path parameter {name} is not declared")
            self._check_value(operation, spec, httpx.URL("/" + value).path[1:], f"path {name}")
        query = request.url.params
        for name in query:
            spec = parameters.get(("query", name))
            if spec is None:
                raise ContractError(f"{operation}: query parameter {name!r} is not documented")
            for value in query.get_list(name):
                self._check_value(operation, spec, value, f"query {name}")
        for (where, name), spec in parameters.items():
            if where == "query" and spec.get("required") and name not in query:
                raise ContractError(f"{operation}: required query parameter {name!r} is missing")
        self._check_body(operation, request)
        return operation

    def check_requests(self, requests: Iterable[httpx.Request]) -> list[str]:
        """Validate every request; return their operations, in order."""
        return [str(self.check_request(request)) for request in requests]

    def _parameters(self, operation: Operation) -> dict[tuple[str, str], dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        item = self.document["paths"][operation.template]
        for parameter in [*item.get("parameters", []), *operation.definition.get("parameters", [])]:
            resolved = self._resolve(parameter)
            found[(resolved["in"], resolved["name"])] = resolved
        return found

    def _check_value(
        self, operation: Operation, parameter: dict[str, Any], raw: str, where: str
    ) -> None:
        schema = self._resolve(parameter.get("schema", {}))
        value: Any = raw
        kind = schema.get("type")
        if kind == "integer":
            if not re.fullmatch(r"-?\d+", raw):
                raise ContractError(f"{operation}: {where} must be an integer, got {raw!r}")
            value = int(raw)
        elif kind == "boolean":
            value = {"true": True, "false": False}.get(raw, raw)
        elif kind == "array":
            value = raw.split(",")
        self._validate(
            value, f"{operation.pointer}/parameters", schema, "request", where, operation
        )

    def _check_body(self, operation: Operation, request: httpx.Request) -> None:
        body_spec = operation.definition.get("requestBody")
        content = request.content
        if body_spec is None:
            if content:
                raise ContractError(f"{operation}: takes no body, got {content[:80]!r}")
            return
        body_spec = self._resolve(body_spec)
        if not content:
            if body_spec.get("required"):
                raise ContractError(f"{operation}: the request body is required")
            return
        media = request.headers.get("content-type", "").split(";")[0].strip()
        if media not in body_spec["content"]:
            raise ContractError(f"{operation}: content type {media!r} is not documented")
        schema = body_spec["content"][media].get("schema", {})
        body = json.loads(content)
        if f"{operation.method.upper()} {operation.template}" in self.partial_bodies:
            schema = {**self._resolve(schema), "required": []}
            self._validate(body, "", schema, "request", "body", operation)
            return
        pointer = self._pointer_of(f"{operation.pointer}/requestBody", body_spec, media)
        self._validate(body, pointer, None, "request", "body", operation)

    def _pointer_of(self, base: str, body_spec: dict[str, Any], media: str) -> str:
        ref = body_spec["content"][media]["schema"].get("$ref")
        if ref is not None:
            return ref[1:]
        raw = self._at(base)
        if "$ref" in raw:
            return f"{raw['$ref'][1:]}/content/{_escape(media)}/schema"
        return f"{base}/content/{_escape(media)}/schema"

    # --- responses ------------------------------------------------------------------------

    def example(self, method: str, template: str, status: int | str) -> Any:
        """The documented example answer (a deep copy), validated against its schema."""
        media = self._response_media(method, template, status)
        value: Any
        if "examples" in media:
            first = next(iter(media["examples"].values()))
            value = self._resolve(first)
            while isinstance(value, dict) and "value" in value and _is_example(value):
                value = self._resolve(value["value"])  # Example objects may nest by $ref
        elif "example" in media:
            value = media["example"]
            value = json.loads(value) if isinstance(value, str) else value
        else:
            raise ContractError(f"{method.upper()} {template} {status}: no example documented")
        value = copy.deepcopy(value)
        self.check_response(method, template, status, value)
        return value

    def check_response(self, method: str, template: str, status: int | str, body: Any) -> Any:
        """Validate an answer the tests built; return it."""
        operation = Operation(
            method.lower(),
            template,
            self.document["paths"][template][method.lower()],
            f"/paths/{_escape(template)}/{method.lower()}",
        )
        self._response_media(method, template, status)  # exists
        response = self._resolve(operation.definition["responses"][str(status)])
        schema = response["content"]["application/json"]["schema"]
        self._validate(body, "", schema, "response", f"{status} answer", operation)
        return body

    def _response_media(self, method: str, template: str, status: int | str) -> dict[str, Any]:
        responses = self.document["paths"][template][method.lower()]["responses"]
        response = self._resolve(responses[str(status)])
        return dict(response["content"]["application/json"])

    # --- jsonschema -------------------------------------------------------------------------

    def _validate(
        self,
        value: Any,
        pointer: str,
        schema: dict[str, Any] | None,
        mode: str,
        what: str,
        operation: Operation,
    ) -> None:
        uri = f"urn:{self.name}:{mode}"
        if schema is None:
            schema = {"$ref": f"{uri}#{pointer}"}
        else:
            schema = _adapt(copy.deepcopy(schema), request=mode == "request")
            schema = _rebase(schema, uri)
        validator = jsonschema.Draft4Validator(schema, registry=self._registries[mode])
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [
                f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors
            ]
            raise ContractError(
                f"{operation} {what} does not match the description:\n  " + "\n  ".join(lines[:10])
            )

    def _resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = self._at(node["$ref"][1:])
        return node

    def _at(self, pointer: str) -> Any:
        node: Any = self.document
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node


def _is_example(node: dict[str, Any]) -> bool:
    return {key for key in node if not key.startswith("x-")} <= _EXAMPLE_KEYS


def _template_regex(template: str) -> str:
    parts = re.split(r"(\{[^}]+\})", template)
    return "".join(
        f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part) for part in parts
    )


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _adapt(node: Any, *, request: bool) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: `nullable`, and `readOnly` refused in requests."""
    if isinstance(node, list):
        return [_adapt(item, request=request) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _adapt(value, request=request) for key, value in node.items()}
    if node.pop("nullable", False) is True:
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
            if "enum" in node and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [{"type": "null"}, node]}
    if request and isinstance(node.get("properties"), dict):
        node["properties"] = {
            name: ({"not": {}} if isinstance(sub, dict) and sub.get("readOnly") else sub)
            for name, sub in node["properties"].items()
        }
    return node


def _rebase(node: Any, uri: str) -> Any:
    if isinstance(node, list):
        return [_rebase(item, uri) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: (f"{uri}{value}" if key == "$ref" and value.startswith("#") else _rebase(value, uri))
        for key, value in node.items()
    }


def record_sleeps(monkeypatch: Any) -> list[float]:
    """Replace the HTTP layer's sleep with a recorder; return the list of waits it fills."""
    from feedbackloop.connectors import _http

    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(_http, "sleep", fake_sleep)
    return waits


@contextmanager
def vendor(name: str, base_url: str) -> Iterator[respx.MockRouter]:
    """A respx router for one vendor; on exit, every request it received is validated.

    Args:
        name: The description to validate against (a key of `SPECS`).
        base_url: The vendor's address the routes are relative to.
    """
    spec = load(name)
    with respx.mock(base_url=base_url, assert_all_called=False) as router:
        yield router
        requests = [call.request for call in router.calls]  # respx forgets them on exit
    assert requests, f"the test sent nothing to {name}"
    spec.check_requests(requests)


@functools.cache
def load(name: str) -> Spec:
    """The named description, loaded once per test session."""
    path = VENDOR / SPECS[name]
    if path.suffix == ".yaml":
        import yaml  # PyYAML comes with mkdocs (the docs extra of the dev environment)

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        document = yaml.load(path.read_text(), Loader=loader)
    else:
        document = json.loads(path.read_text())
    partial = frozenset()
    if name == "sentry":
        # The generated description lists every field of "Update an Issue" as required,
        # while its own text says "Only the attributes submitted are modified" and the
        # documented call sends just {"status": "resolved"}.
        partial = frozenset(
            {"PUT /api/0/organizations/{organization_id_or_slug}/issues/{issue_id}/"}
        )
    return Spec(name, document, partial_bodies=partial)
