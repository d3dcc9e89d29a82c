"""The simulated 3CX: a WSGI application answering /connect/token, /xapi/v1 and /_simulator.

`Simulator` holds the state (directory data, tokens, faults, counters) and is the public Python
API; `Simulator.wsgi_app` is the WSGI callable. Routes follow the spec: an entity set can be
read by key, by Number or through a navigation property only where swagger.yaml has that path.
Every other operation of the spec is answered from its schema by the generic fallback
(`generic.py`): what is modelled stays modelled, the rest is generated.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import HTTP
from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from integrations.threecx.spec import load_spec

from .config import RUNTIME_FIELDS, SimulatorConfig
from .directories import DirectoryError, filesystems, list_directory
from .faults import Decision, Fault, FaultSet
from .generic import Paging, generic_answer
from .model import type_info
from .query import QueryError, QueryOptions, parse_options, select_items, shape
from .settings import check_values
from .spec_routes import BadRequest, RouteMatch, route_match
from .store import ENTITY_TYPES, KEY_FIELDS, MUTABLE_SETS, Directory
from .tokens import TokenIssuer

logger = logging.getLogger(__name__)

# The WSGI environ key under which SimulatorServer offers socket-level control.
CONNECTION_KEY = "threecx.simulator.connection"
XAPI = "/xapi/v1"
CONTROL = "/_simulator"
JSON_TYPE = "application/json; charset=utf-8"
ODATA_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"
_UNAUTHORIZED = {
    "error": "unauthorized",
    "error_description": "The request requires valid user authentication.",
}
# A modelled entity set, one of its items or a navigation property of it; anything else (bound
# functions and actions such as /Users(5)/Pbx.GetPhoneSecret()) goes to the generic answers.
_ENTITY_PATH = re.compile(
    r"/(?P<set>[A-Za-z]+)(?:\((?P<key>(?:[^()']|'(?:[^']|'')*')*)\))?(?:/(?P<nav>[A-Za-z]+))?"
)
# The leading /Set(key) of a template bound to one item: /Users({Id})/Pbx.Regenerate.
_BOUND_TEMPLATE = re.compile(r"/(?P<set>\w+)\((?P<number>Number=)?\{(?P<key>\w+)\}\)")
#: Singletons and functions served besides the entity sets (path -> Pbx type of the answer).
SINGLETONS = {
    "/SystemStatus": "Pbx.SystemStatus",
    "/Defs": "Pbx.Defs",
    "/LicenseStatus": "Pbx.LicenseStatus",
    "/AntiHackingSettings": "Pbx.AntiHackingSettings",
    "/Backups/Pbx.GetBackupSettings()": "Pbx.BackupSettings",
}


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    base_url: str
    decision: Decision = field(default_factory=Decision)  # what the faults make of it


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    action: str | None = None  # "reset" or "truncate": socket-level faults


class Simulator:
    """A 3CX V20 XAPI server in a box. Build it from a `SimulatorConfig`, serve `wsgi_app`."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self._clock_offset = 0.0
        self.directory = Directory(self.config, started_at=datetime.now(UTC))
        self.faults = FaultSet()
        self.tokens = TokenIssuer(self.config.token_lifetime, self.now)
        self._stats_lock = threading.Lock()
        self._token_requests = 0
        self._requests: Counter[tuple[str, str]] = Counter()

    # --- the Python API -----------------------------------------------------------------------

    @property
    def token_requests(self) -> int:
        """How many POST /connect/token requests arrived (successful or not)."""
        return self._token_requests

    def request_count(self, path_regex: str, method: str | None = None) -> int:
        """How many requests had a path matching `path_regex` (re.search), optionally by method."""
        pattern = re.compile(path_regex)
        with self._stats_lock:
            counts = list(self._requests.items())
        return sum(
            count
            for (verb, path), count in counts
            if pattern.search(path) and (method is None or verb == method.upper())
        )

    def revoke_tokens(self) -> None:
        """Invalidate every issued token, as when another client logs in with the same key."""
        self.tokens.revoke_all()

    def now(self) -> float:
        """The simulator's clock (wall clock plus `advance_clock` offsets)."""
        return time.time() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the simulator's clock forward, e.g. to expire tokens without sleeping."""
        self._clock_offset += seconds

    def add(self, set_name: str, item: dict[str, Any]) -> dict[str, Any]:
        """Add an item (Id and Number are assigned when missing); returns it as stored."""
        return self.directory.add(set_name, item)

    def update(self, set_name: str, key: Any, changes: dict[str, Any]) -> dict[str, Any]:
        """Change an item's fields (key: its Id; DidNumbers' Number, Backups' FileName)."""
        return self.directory.update(set_name, key, changes)

    def delete(self, set_name: str, key: Any) -> None:
        self.directory.delete(set_name, key)

    def get(self, set_name: str, key: Any) -> dict[str, Any]:
        """The item with every property, secrets and navigation properties included."""
        return self.directory.get(set_name, key)

    def state(self) -> dict[str, Any]:
        """SystemStatus, LicenseStatus, AntiHackingSettings, BackupSettings and the Backups
        list, as the API answers them now."""
        return self.directory.state()

    def state_patch(self, **changes: Any) -> dict[str, Any]:
        """Change the settings the audit reads, e.g.
        `state_patch(LicenseStatus={"LicenseActive": False}, Backups=[])`: each singleton
        takes an object of its spec fields (merged into the current value), Backups a whole
        new list. Returns `state()`; ValueError (nothing changed) when something does not fit."""
        return self.directory.state_patch(changes)

    def reconfigure(self, **changes: Any) -> SimulatorConfig:
        """Change how the running simulator answers, e.g. `reconfigure(version="20.0.10")`
        to upgrade the PBX between two syncs. Only the fields in `RUNTIME_FIELDS` (version,
        token_lifetime, max_page_size, odata_count) change while it runs; tokens already
        issued keep their expiry. ValueError when a field or value does not fit."""
        fixed = sorted(set(changes) - set(RUNTIME_FIELDS))
        if fixed:
            raise ValueError(
                f"cannot change {', '.join(fixed)} while running; use {', '.join(RUNTIME_FIELDS)}"
            )
        config = dataclasses.replace(self.config, **changes)
        self.config = self.directory.config = config
        self.tokens.lifetime = config.token_lifetime
        return config

    def runtime_settings(self) -> dict[str, Any]:
        """The current values of the fields `reconfigure` changes."""
        settings = {name: getattr(self.config, name) for name in RUNTIME_FIELDS}
        settings["missing"] = list(settings["missing"])
        return settings

    # --- WSGI ---------------------------------------------------------------------------------

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = _request(environ)
        with self._stats_lock:
            self._requests[(request.method, request.path)] += 1
            if request.path == "/connect/token" and request.method == "POST":
                self._token_requests += 1
        try:
            response = self._respond(request)
        except Exception:
            logger.exception("simulator failed on %s %s", request.method, request.path)
            response = _odata_error(500, "An error has occurred.")
        if request.path.startswith(XAPI):
            response.headers.append(("X-3CX-Version", self.config.version))
        return _send(environ, start_response, response)

    def _respond(self, request: Request) -> Response:
        if request.path == CONTROL or request.path.startswith(CONTROL + "/"):
            if not self.config.control_api:
                return _odata_error(404, _no_resource(request))
            return self._control(request)
        decision = request.decision = self.faults.decide(request.method, request.path)
        if decision.delay:
            time.sleep(decision.delay)
        if decision.fault is not None:
            return self._fault(decision.fault, request)
        return self._route(request)

    def _route(self, request: Request) -> Response:
        if request.path == "/connect/token":
            return self._token(request)
        if request.path == XAPI or request.path.startswith(XAPI + "/"):
            refusal = self._authenticate(request)
            return refusal or self._xapi(request, request.path[len(XAPI) :])
        return _odata_error(404, _no_resource(request))

    # --- faults -------------------------------------------------------------------------------

    def _fault(self, fault: Fault, request: Request) -> Response:
        if fault.kind == "reset":
            return Response(0, action="reset")
        if fault.kind == "revoke_token":
            self.tokens.revoke_all()
            return _bearer_refusal(invalid=True)
        if fault.kind == "malformed_json":
            context = f"{request.base_url}{XAPI}/$metadata#Users"
            body = f'{{"@odata.context":"{context}","value":[{{"Id":1,"Num'
            return Response(200, body.encode(), [("Content-Type", ODATA_TYPE)])
        if fault.kind == "truncated":
            response = self._route(request)
            if response.status != 200 or len(response.body) < 2:
                response = _json(200, {"value": [{"Id": index} for index in range(20)]})
            response.action = "truncate"
            return response
        response = _odata_error(
            fault.status, f"{_reason(fault.status)} (a fault injected by the simulator)"
        )
        if fault.retry_after is not None:
            response.headers.append(("Retry-After", _number(fault.retry_after)))
        if fault.status == 401:
            response.headers.append(("WWW-Authenticate", "Bearer"))
        return response

    # --- /connect/token -----------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        if request.method != "POST":
            response = _json(405, {"error": "invalid_request"})
            response.headers.append(("Allow", "POST"))
            return response
        fields = _form_fields(request)
        grant_type = fields.get("grant_type")
        if not grant_type or not fields.get("client_id") or not fields.get("client_secret"):
            return _oauth_error(
                400, "invalid_request", "client_id, client_secret and grant_type are required."
            )
        if grant_type != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", f"The grant type '{grant_type}' is not supported."
            )
        good_id = hmac.compare_digest(fields["client_id"], self.config.client_id)
        good_secret = hmac.compare_digest(fields["client_secret"], self.config.client_secret)
        if not (good_id and good_secret):
            return _json(401, _UNAUTHORIZED)
        token = self.tokens.issue(self.config.client_id)
        response = _json(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self.config.expires_in,
                "access_token": token,
                "refresh_token": None,
            },
        )
        response.headers += [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
        return response

    def _authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _bearer_refusal(invalid=False)
        if not self.tokens.valid(token.strip()):
            return _bearer_refusal(invalid=True)
        return None

    # --- /xapi/v1 -----------------------------------------------------------------------------

    def _xapi(self, request: Request, path: str) -> Response:
        try:
            params = _query_options(request.query)
            if path in ("", "/"):
                return self._service_document(request)
            if self._is_missing(path):
                return _odata_error(404, _no_resource(request))
            if path in SINGLETONS:
                return self._singleton(request, params, path)
            if path == "/GetDirectoryInfo":
                return self._directory_info(request)
            match = _ENTITY_PATH.fullmatch(path)
            if match is None or match.group("set") not in ENTITY_TYPES:
                return self._generic(request, params, path)
            return self._entity_route(request, params, match)
        except QueryError as error:
            message = f"The query specified in the URI is not valid. {error.message}"
            return _odata_error(400, message, error.target, detail=error.message)
        except BadRequest as error:
            return _odata_error(400, error.message, error.target)

    def _is_missing(self, path: str) -> bool:
        """Whether `path` is under a set or function `config.missing` takes away."""
        rest = path.lstrip("/")
        return any(
            rest == name or rest.startswith((f"{name}/", f"{name}("))
            for name in self.config.missing
        )

    def _service_document(self, request: Request) -> Response:
        names = [*ENTITY_TYPES, "SystemStatus", "Defs", "LicenseStatus", "AntiHackingSettings"]
        sets = [name for name in names if not self._is_missing(f"/{name}")]
        return _json(
            200,
            {
                "@odata.context": f"{request.base_url}{XAPI}/$metadata",
                "value": [{"name": name, "kind": "EntitySet", "url": name} for name in sets],
            },
            ODATA_TYPE,
        )

    def _singleton(self, request: Request, params, path: str) -> Response:
        allowed = ("GET", "PATCH") if path == "/AntiHackingSettings" else ("GET",)
        if request.method not in allowed:
            return _method_not_allowed(request, *allowed)
        info = type_info(SINGLETONS[path])
        if request.method == "PATCH":
            payload = _json_body(request)
            if isinstance(payload, Response):
                return payload
            try:
                check_values(info, payload)
                self.directory.state_patch({"AntiHackingSettings": payload})
            except ValueError as error:
                return _odata_error(400, str(error))
            return Response(204)
        item = {
            "/SystemStatus": self.directory.system_status,
            "/Defs": lambda: {"Id": 0},
            "/LicenseStatus": self.directory.licence_status,
            "/AntiHackingSettings": lambda: self.directory.state()["AntiHackingSettings"],
            "/Backups/Pbx.GetBackupSettings()": lambda: self.directory.state()["BackupSettings"],
        }[path]()
        options = parse_options(params, info, self.directory.navigate, collection=False)
        name = path.lstrip("/") if "/" not in path.lstrip("/") else info.name
        context = f"{request.base_url}{XAPI}/$metadata#{name}{options.context_suffix()}"
        body = {"@odata.context": context, **shape(item, info, options, self.directory.navigate)}
        return _json(200, body, ODATA_TYPE)

    def _entity_route(self, request: Request, params: dict[str, str], match: re.Match) -> Response:
        set_name, raw_key, nav = match.group("set"), match.group("key"), match.group("nav")
        routes = _routes()
        if raw_key is None:
            if nav is not None:
                return _odata_error(404, _no_resource(request))
            return self._collection_route(request, params, set_name)
        key_field = KEY_FIELDS.get(set_name, "Id")
        by_number, key = _parse_key(raw_key, key_field)
        template = (
            f"/{set_name}(Number={{Number}})" if by_number else f"/{set_name}({{{key_field}}})"
        )
        if nav is not None:
            template = f"{template}/{nav}"
        if template not in routes:
            return _odata_error(404, _no_resource(request))
        allowed = routes[template]
        if request.method.lower() not in allowed:
            return _method_not_allowed(request, *[verb.upper() for verb in allowed])
        entity_set = self.directory.entity_set(set_name)
        item = _find(entity_set, by_number, key)
        if item is None:
            what = f"Number '{key}'" if by_number else f"key {key}"
            return _odata_error(404, f"No {set_name} entity found with {what}.")
        if request.method == "PATCH":
            return self._patch(request, set_name, item[key_field])
        if request.method == "DELETE":
            self.directory.delete(set_name, item[key_field])
            return Response(204)
        if nav is not None:
            return self._navigation(request, params, set_name, item, nav)
        info = entity_set.info
        options = parse_options(params, info, self.directory.navigate, collection=False)
        context = f"{request.base_url}{XAPI}/$metadata#{set_name}{options.context_suffix()}/$entity"
        body = {"@odata.context": context, **shape(item, info, options, self.directory.navigate)}
        return _json(200, body, ODATA_TYPE)

    def _collection_route(
        self, request: Request, params: dict[str, str], set_name: str
    ) -> Response:
        allowed = _routes().get(f"/{set_name}", ())
        if request.method == "POST" and "post" in allowed and set_name in MUTABLE_SETS:
            return self._create(request, set_name)
        if request.method != "GET":
            return _method_not_allowed(request, *[verb.upper() for verb in allowed])
        entity_set = self.directory.entity_set(set_name)
        info = entity_set.info
        options = self._capped(request, parse_options(params, info, self.directory.navigate))
        if options.by_key:
            options.orderby = []  # the sets are kept in key order already
        if options.scans:
            fields = self.directory.search_fields(info.name)
            count, page = select_items(
                entity_set.items(), options, info, fields, fetch=entity_set.get, key=entity_set.key
            )
        else:
            count = entity_set.count() if options.count else 0
            page = entity_set.page(options.skip, options.top)
        context = f"{request.base_url}{XAPI}/$metadata#{set_name}{options.context_suffix()}"
        return self._collection_body(request, context, options, count, page, info)

    def _navigation(
        self, request, params, set_name: str, item: dict[str, Any], nav: str
    ) -> Response:
        owner = self.directory.entity_set(set_name).info
        element = type_info(owner.props[nav].type.element.name)  # type: ignore[union-attr, arg-type]
        options = self._capped(request, parse_options(params, element, self.directory.navigate))
        items = self.directory.navigate(owner.name, item, nav) or []
        count, page = select_items(
            items, options, element, self.directory.search_fields(element.name)
        )
        context = (
            f"{request.base_url}{XAPI}/$metadata#{set_name}({item['Id']})/{nav}"
            f"{options.context_suffix()}"
        )
        return self._collection_body(request, context, options, count, page, element)

    def _capped(self, request: Request, options: QueryOptions) -> QueryOptions:
        """`options` with `$top` lowered to the page-size cap, if there is one."""
        cap = request.decision.page_cap(self.config.max_page_size)
        if cap is not None:
            options.top = cap if options.top is None else min(options.top, cap)
        return options

    def _collection_body(
        self, request: Request, context, options: QueryOptions, count, page, info
    ) -> Response:
        body: dict[str, Any] = {"@odata.context": context}
        if options.count:
            count_fault = request.decision.count_fault
            counted = count_fault.odata_count if count_fault else self.config.counted(count)
            if counted is not None:
                body["@odata.count"] = counted
        navigate = self.directory.navigate
        body["value"] = [shape(item, info, options, navigate) for item in page]
        return _json(200, body, ODATA_TYPE)

    def _create(self, request: Request, set_name: str) -> Response:
        payload = _json_body(request)
        if isinstance(payload, Response):
            return payload
        try:
            created = self.directory.add(set_name, payload)
        except ValueError as error:
            return _odata_error(400, str(error))
        info = self.directory.entity_set(set_name).info
        body = {
            "@odata.context": f"{request.base_url}{XAPI}/$metadata#{set_name}/$entity",
            **shape(created, info, QueryOptions(), self.directory.navigate),
        }
        return _json(201, body, ODATA_TYPE)

    def _patch(self, request: Request, set_name: str, key: Any) -> Response:
        payload = _json_body(request)
        if isinstance(payload, Response):
            return payload
        try:
            self.directory.update(set_name, key, payload)
        except ValueError as error:
            return _odata_error(400, str(error))
        return Response(204)

    # --- everything else the spec describes ---------------------------------------------------

    def _generic(self, request: Request, params: dict[str, str], path: str) -> Response:
        """Any other operation of the spec, answered from its schema (generic.py): 404 for a
        path the spec does not have, 405 for a method it does not take there, and 404 for an
        item of a modelled set that does not exist (/Users(999)/Pbx.Regenerate)."""
        found = route_match(request.method, path)
        if found is None:
            return _odata_error(404, _no_resource(request))
        if found.operation is None:
            return _method_not_allowed(request, *found.route.allowed)
        unknown = self._unknown_item(found)
        if unknown:
            return _odata_error(404, unknown)
        cap = request.decision.page_cap(self.config.max_page_size)
        count_fault = request.decision.count_fault
        paging = Paging(
            cap=cap,
            counted=(lambda _: count_fault.odata_count) if count_fault else self.config.counted,
        )
        status, data = generic_answer(
            found,
            path=path,
            options=params,
            body=request.body,
            base_url=request.base_url,
            paging=paging,
        )
        if data is None:
            return Response(status)
        return _json(status, data, ODATA_TYPE)

    def _unknown_item(self, found: RouteMatch) -> str | None:
        """Why the item an operation is bound to cannot be found, when the simulator models
        its set; None when it exists or is not modelled."""
        bound = _BOUND_TEMPLATE.match(found.route.template)
        if bound is None or bound.group("set") not in ENTITY_TYPES:
            return None
        set_name, by_number = bound.group("set"), bool(bound.group("number"))
        key = found.arguments.get(bound.group("key"))
        if _find(self.directory.entity_set(set_name), by_number, key) is not None:
            return None
        what = f"Number '{key}'" if by_number else f"key {key}"
        return f"No {set_name} entity found with {what}."

    # --- GetDirectoryInfo ---------------------------------------------------------------------

    def _directory_info(self, request: Request) -> Response:
        if request.method != "POST":
            return _method_not_allowed(request, "POST")
        payload = _json_body(request)
        if isinstance(payload, Response):
            return payload
        if not isinstance(payload, dict) or not isinstance(payload.get("parameters"), dict):
            return _odata_error(
                400, "The request body must be an object with a 'parameters' object.", "parameters"
            )
        extra = sorted(set(payload) - {"parameters"})
        if extra:
            return _odata_error(
                400,
                f"The parameter '{extra[0]}' in the request payload is not a valid parameter for "
                "the operation 'GetDirectoryInfo'.",
                extra[0],
            )
        parameters = payload["parameters"]
        unknown = sorted(set(parameters) - {"Filesystem", "Path", "Json"})
        if unknown:
            return _odata_error(
                400,
                f"The property '{unknown[0]}' does not exist on type 'Pbx.DirectoryParameters'. "
                "Make sure to only use property names that are defined by the type.",
                unknown[0],
            )
        allowed = filesystems()
        filesystem = parameters.get("Filesystem")
        if filesystem not in allowed:
            given = "is missing" if filesystem is None else f"'{filesystem}' is not valid"
            return _odata_error(
                400, f"Filesystem {given}; use one of: {', '.join(allowed)}.", "Filesystem"
            )
        path = parameters.get("Path")
        if path is not None and not isinstance(path, str):
            return _odata_error(400, "Path must be a string or null.", "Path")
        settings = parameters.get("Json")
        if settings is not None and (not isinstance(settings, str) or not _is_json(settings)):
            return _odata_error(400, "Json must be null or a string holding JSON.", "Json")
        try:
            normalised, dirs = list_directory(filesystem, path)
        except DirectoryError as error:
            return _odata_error(400, str(error), "Path", detail="WARNINGS.XAPI.NOT_FOUND")
        body = {
            "@odata.context": f"{request.base_url}{XAPI}/$metadata#Pbx.SystemDirectory",
            "Dirs": dirs,
            "Path": normalised,
        }
        return _json(200, body, ODATA_TYPE)

    # --- /_simulator --------------------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        route = (request.method, request.path[len(CONTROL) :])
        if route == ("GET", "/stats"):
            return _json(200, self._stats())
        if route == ("POST", "/revoke-tokens"):
            self.revoke_tokens()
            return Response(204)
        if route == ("DELETE", "/faults"):
            self.faults.clear()
            return Response(204)
        if route == ("GET", "/faults"):
            return _json(200, {"faults": [fault.to_json() for fault in self.faults]})
        if route == ("GET", "/config"):
            return _json(200, self.runtime_settings())
        if route == ("GET", "/state"):
            return _json(200, self.state())
        payload = _json_body(request, odata=False)
        if isinstance(payload, Response):
            return payload
        try:
            if route == ("POST", "/faults"):
                fault = self.faults.add(Fault.from_json(payload))
                return _json(201, {"fault": fault.to_json()})
            if route == ("POST", "/mutations"):
                return self._mutation(payload)
            if route == ("POST", "/config"):
                if not isinstance(payload, dict):
                    raise ValueError("the settings to change are a JSON object")
                self.reconfigure(**payload)
                return _json(200, self.runtime_settings())
            if route == ("POST", "/state"):
                if not isinstance(payload, dict):
                    raise ValueError("the state to change is a JSON object")
                return _json(200, self.state_patch(**payload))
            if route == ("POST", "/clock"):
                self.advance_clock(float(payload["advance"]))
                return _json(200, {"now": self.now()})
        except (ValueError, TypeError) as error:
            return _json(400, {"error": str(error)})
        except KeyError as error:
            return _json(404, {"error": str(error.args[0]) if error.args else "not found"})
        return _json(404, {"error": f"no control endpoint {request.method} {request.path}"})

    def _mutation(self, payload: Any) -> Response:
        if not isinstance(payload, dict):
            raise ValueError("a mutation is a JSON object")
        operation, set_name = payload.get("op"), payload.get("set")
        if operation == "add":
            return _json(201, {"item": self.add(set_name, payload.get("item") or {})})
        if operation == "update":
            return _json(
                200, {"item": self.update(set_name, payload["id"], payload.get("item") or {})}
            )
        if operation == "delete":
            self.delete(set_name, payload["id"])
            return Response(204)
        raise ValueError("op must be add, update or delete")

    def _stats(self) -> dict[str, Any]:
        with self._stats_lock:
            total = sum(self._requests.values())
        return {
            "token_requests": self.token_requests,
            "requests": total,
            "active_tokens": self.tokens.active_count(),
            "contacts_built": self.directory.contact_factory.built,
            "faults": len(self.faults),
        }


# --- helpers ------------------------------------------------------------------------------------


@cache
def _routes() -> dict[str, tuple[str, ...]]:
    """Path template -> HTTP methods, for every path of the spec this simulator serves."""
    routes = {}
    for template, operations in load_spec()["paths"].items():
        head = re.match(r"/([A-Za-z]+)", template)
        if head and head.group(1) in ENTITY_TYPES:
            verbs = tuple(verb for verb in ("get", "post", "patch", "delete") if verb in operations)
            routes[template] = verbs
    return routes


def _request(environ: dict[str, Any]) -> Request:
    raw_path = environ.get("PATH_INFO", "") or "/"
    path = raw_path.encode("latin-1", "replace").decode("utf-8", "replace")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
    base_url = f"{environ.get('wsgi.url_scheme', 'http')}://{host}"
    return Request(
        method=environ.get("REQUEST_METHOD", "GET").upper(),
        path=path,
        query=environ.get("QUERY_STRING", ""),
        headers=headers,
        body=body,
        base_url=base_url,
    )


def _send(environ: dict[str, Any], start_response: Callable, response: Response) -> list[bytes]:
    connection = environ.get(CONNECTION_KEY)
    if response.action == "reset":
        if connection is None:
            raise ConnectionResetError("simulated connection reset")
        connection.action = "reset"
        start_response("502 Bad Gateway", [("Content-Length", "0")])
        return []
    headers = list(response.headers)
    headers.append(("Content-Length", str(len(response.body))))
    body = response.body
    if response.action == "truncate":
        body = body[: len(body) // 2]
        if connection is not None:
            connection.action = "truncate"
    status = f"{response.status} {_reason(response.status)}"
    start_response(status, headers)
    return [body]


def _form_fields(request: Request) -> dict[str, str]:
    """The fields of a form body, url-encoded or multipart/form-data (what 3CX's own
    generated clients send); the first value of each name."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {name: values[0] for name, values in form.items() if values}
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = message_from_bytes(head + request.body, policy=HTTP)
    fields: dict[str, str] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes) and name not in fields:
            fields[name] = payload.decode("utf-8", "replace")
    return fields


def _query_options(query: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if not name.startswith("$"):
            continue
        if name in options:
            raise QueryError(
                f"Query option '{name}' was specified more than once, but it must be "
                "specified at most once.",
                name,
            )
        options[name] = value
    return options


def _parse_key(raw: str, key_field: str = "Id") -> tuple[bool, Any]:
    """(by_number, key) from the text between the parentheses of /Set(...)."""
    text = raw.strip()
    if key_field != "Id":  # a string key: ('name') or (FileName='name')
        quoted = re.fullmatch(rf"(?:{key_field}=)?'((?:[^']|'')*)'", text)
        if quoted is None:
            raise QueryError(f"The key value '{raw}' is not a valid Edm.String key.", "key")
        return False, quoted.group(1).replace("''", "'")
    number = re.fullmatch(r"Number=(?:'((?:[^']|'')*)'|([^']*))", text)
    if number:
        quoted, bare = number.groups()
        return True, quoted.replace("''", "'") if quoted is not None else bare
    identifier = re.fullmatch(r"(?:Id=)?(-?\d+)", text)
    if identifier:
        return False, int(identifier.group(1))
    raise QueryError(f"The key value '{raw}' is not a valid Edm.Int32 key.", "key")


def _find(entity_set, by_number: bool, key: Any) -> dict[str, Any] | None:
    if not by_number:
        return entity_set.get(key)
    return next((item for item in entity_set.items() if item.get("Number") == key), None)


def _json_body(request: Request, *, odata: bool = True) -> Any:
    """The request's JSON body, or a 400 Response saying why there is none."""
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        message = "The request body is not valid JSON."
        if odata:
            return _odata_error(400, message, "body")
        return _json(400, {"error": message})


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _json(status: int, data: Any, content_type: str = JSON_TYPE) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = [("Content-Type", content_type)]
    if content_type == ODATA_TYPE:
        headers.append(("OData-Version", "4.0"))
    return Response(status, body, headers)


def _odata_error(
    status: int, message: str, target: str | None = None, *, detail: str | None = None
) -> Response:
    """The OData error body every 3CX failure uses."""
    code = str(status)
    details = [{"code": code, "message": detail or message, "target": target}]
    error = {"code": code, "message": message, "target": target, "details": details}
    return _json(status, {"error": error}, ODATA_TYPE)


def _oauth_error(status: int, error: str, description: str) -> Response:
    return _json(status, {"error": error, "error_description": description})


def _bearer_refusal(*, invalid: bool) -> Response:
    """401 with an empty body, as 3CX answers a missing, unknown, revoked or expired token."""
    challenge = 'Bearer error="invalid_token"' if invalid else "Bearer"
    return Response(401, b"", [("WWW-Authenticate", challenge)])


def _method_not_allowed(request: Request, *allowed: str) -> Response:
    response = _odata_error(
        405, f"The HTTP method '{request.method}' is not allowed on '{request.path}'."
    )
    response.headers.append(("Allow", ", ".join(allowed)))
    return response


def _no_resource(request: Request) -> str:
    uri = f"{request.base_url}{request.path}"
    return f"No HTTP resource was found that matches the request URI '{uri}'."


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
