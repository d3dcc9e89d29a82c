"""Every operation of the carried XAPI spec, described for browsing, forms and calls.

    operation = operation_get("ListUser")
    operation.method, operation.path          # "GET", "/Users"
    [p.name for p in operation.parameters]    # ["$top", "$skip", "$search", ...]

The catalogue is built once per process from `spec.load_spec()` and never changes: the spec
is data carried in the repository.

Header parameters: the only ones the spec declares are 34 `If-Match` (ETag) headers on
DELETE operations. The catalogue leaves them out, so no form offers them and a request that
names one is refused as unknown: 3CX answers carry no ETag (the spec declares no
`@odata.etag` anywhere), so a value could only be guessed, and without the header 3CX
deletes unconditionally, as its own console does.
"""

from dataclasses import dataclass
from functools import cache

from integrations.threecx import spec

#: POST actions that only read. OData says actions may change state, so every action is a
#: write unless it is listed here; these are the actions named Get... that only look things
#: up on the PBX itself and change nothing:
#:
#: - GetDirectoryInfo: lists the folders of a storage location (the backup location picker);
#: - GetRoutes: the routes of the given outbound rules;
#: - GetDuplicatedEmails: which of the given e-mail addresses more than one user has;
#: - GetPhoneRegistrars: the registrars the phones with the given MAC addresses use;
#: - GetMultiEditGreetings: the greeting files shared by the given users.
#:
#: Left out on purpose, although named Get...: GetSftpHostKey (makes the PBX connect to a
#: server the caller names), GetProviderPhones (signs in to a SIP provider with the API key
#: in the body), GetGoogleUsers, GetM365Users, GetM365Groups and GetUsersByPrincipalNames
#: (query Google or Microsoft 365 with the PBX's stored credentials and reveal another
#: system's directory). They change nothing on the PBX, but reaching out to another system
#: with credentials is for admins.
READ_ACTIONS = frozenset(
    {
        "GetDirectoryInfo",
        "GetRoutes",
        "GetDuplicatedEmails",
        "GetPhoneRegistrars",
        "GetMultiEditGreetings",
    }
)

#: Operations whose answer is a credential as a whole ({"value": "<token, key or provisioning
#: link>"}). Some are GET functions, but they hand out (and may mint, replacing the previous
#: one) a key to the PBX: admins only, and their answer is masked like any secret.
CREDENTIAL_ANSWERS = frozenset(
    {
        "APIToken",
        "GenerateApiKey",
        "GenerateAppToken",
        "GenerateProvLink",
        "GetMicrosoftAccessToken",
        "GetPhoneSecret",
        "MyUserGenerateProvLink",
    }
)

METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
#: x-ms-docs-operation-type values kept as the operation's kind; "operation" (and no value)
#: are entity operations, named after what they do instead.
_ODATA_KINDS = frozenset({"function", "action", "actionImport", "functionImport"})
#: OData system query options whose value is a comma-separated list (explode: false arrays).
LIST_OPTIONS = frozenset({"$select", "$expand", "$orderby"})


class UnknownOperation(KeyError):
    def __init__(self, operation_id: str) -> None:
        super().__init__(operation_id)
        self.operation_id = operation_id
        self.message = (
            f"The XAPI has no operation {operation_id!r} (operation ids are case-sensitive, "
            "e.g. ListUser or GetDirectoryInfo)."
        )

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # "path" | "query" (header parameters are left out: see the module's doc)
    required: bool
    schema: dict
    description: str
    #: "integer" | "string" | "boolean" | "date-time" | "uuid" | "number"
    #: | "list" (comma-separated: $select, $expand, $orderby) | "odata-bool" ($count)
    kind: str
    odata: bool  # an OData system query option ($...)

    @property
    def nullable(self) -> bool:
        """Whether the value may be null: an empty nullable path parameter is sent as null."""
        return bool(self.schema.get("nullable"))


# eq=False: operations are compared (and hashed) by identity, as each exists once, and their
# dict fields could not be hashed.
@dataclass(frozen=True, eq=False)
class Operation:
    id: str
    method: str
    path: str
    tag: str
    summary: str
    kind: str
    parameters: tuple[Parameter, ...]
    body_schema: dict | None
    body_required: bool
    responses: dict[str, dict | None]
    is_read: bool
    entity_read_id: str | None
    returns_collection: bool

    def __repr__(self) -> str:
        return f"<Operation {self.id}: {self.method} {self.path}>"

    @property
    def is_write(self) -> bool:
        return not self.is_read

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    @property
    def path_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == "path")

    @property
    def query_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == "query")


@cache
def operations() -> dict[str, Operation]:
    """All operations of the spec by id, ordered by tag, then path, then method."""
    paths = spec.load_spec()["paths"]
    found = [
        _operation(path, method.upper(), definition, item)
        for path, item in paths.items()
        for method, definition in item.items()
        if method.upper() in METHODS
    ]
    found.sort(key=lambda op: (op.tag.lower(), op.path, METHODS.index(op.method)))
    return {op.id: op for op in found}


def operation_get(operation_id: str) -> Operation:
    try:
        return operations()[operation_id]
    except KeyError:
        raise UnknownOperation(operation_id) from None


@cache
def tags() -> list[tuple[str, int]]:
    """(tag, number of operations), sorted by tag."""
    counts: dict[str, int] = {}
    for op in operations().values():
        counts[op.tag] = counts.get(op.tag, 0) + 1
    return sorted(counts.items(), key=lambda item: item[0].lower())


def operations_search(text: str = "", *, tag: str = "") -> list[Operation]:
    """Operations whose id, path, summary or tag hold every word of `text` (any case),
    within `tag` when given; all of them (in catalogue order) for no words."""
    words = text.lower().split()
    haystacks = _haystacks()
    return [
        op
        for op in operations().values()
        if (not tag or op.tag == tag) and all(word in haystacks[op.id] for word in words)
    ]


def answer_schema_name(operation: Operation) -> str | None:
    """The component schema of what the operation answers: the items' for a collection
    ("ListUser" -> "Pbx.User"), the entity's for one object ("GetUser" -> "Pbx.User"); None
    when the answer is not a component schema's (or there is none)."""
    body = operation.responses.get("200") or operation.responses.get("201")
    if not body:
        return None
    if operation.returns_collection:
        value = _collection_value(body) or {}
        return _ref_name(value.get("items", {}))
    return _ref_name(body)


# --- building ------------------------------------------------------------------------------


def _operation(path: str, method: str, definition: dict, item: dict) -> Operation:
    responses = {
        str(status): _response_schema(response)
        for status, response in definition.get("responses", {}).items()
    }
    body_schema, body_required = _request_body(definition)
    odata_kind = definition.get("x-ms-docs-operation-type")
    returns_collection = _collection_value(responses.get("200")) is not None
    if odata_kind in _ODATA_KINDS:
        kind = odata_kind
        if odata_kind in ("action", "actionImport") and body_schema is not None:
            body_schema = _action_body(body_schema)
    else:
        kind = _entity_kind(method, returns_collection)
    operation_id = definition["operationId"]
    is_read = operation_id not in CREDENTIAL_ANSWERS and (
        method == "GET"
        or kind in ("function", "functionImport")
        or (method == "POST" and operation_id in READ_ACTIONS)
    )
    entity_read_id = None
    if method in ("PATCH", "PUT", "DELETE") and "get" in item:
        entity_read_id = item["get"]["operationId"]
    return Operation(
        id=operation_id,
        method=method,
        path=path,
        tag=(definition.get("tags") or ["Other"])[0],
        summary=definition.get("summary", ""),
        kind=kind,
        parameters=tuple(
            parameter
            for raw in definition.get("parameters", [])
            if (parameter := _parameter(raw)) is not None
        ),
        body_schema=body_schema,
        body_required=body_required,
        responses=responses,
        is_read=is_read,
        entity_read_id=entity_read_id,
        returns_collection=returns_collection,
    )


def _entity_kind(method: str, returns_collection: bool) -> str:
    if method == "GET":
        return "list" if returns_collection else "read"
    return {"POST": "create", "PATCH": "update", "PUT": "update", "DELETE": "delete"}[method]


def _parameter(raw: dict) -> Parameter | None:
    if "$ref" in raw:
        raw = spec.load_spec()["components"]["parameters"][_ref_name(raw)]
    if raw["in"] not in ("path", "query"):
        return None
    name = raw["name"]
    schema = raw.get("schema", {})
    return Parameter(
        name=name,
        location=raw["in"],
        required=raw["in"] == "path" or bool(raw.get("required")),
        schema=schema,
        description=raw.get("description", ""),
        kind=_parameter_kind(name, schema),
        odata=name.startswith("$"),
    )


def _parameter_kind(name: str, schema: dict) -> str:
    if name in LIST_OPTIONS:
        return "list"
    if name == "$count":
        return "odata-bool"
    kind = schema.get("type", "string")
    if kind == "string" and schema.get("format") in ("date-time", "uuid"):
        return schema["format"]
    if kind == "array":
        return "list"
    return kind if kind in ("integer", "number", "boolean") else "string"


def _request_body(definition: dict) -> tuple[dict | None, bool]:
    body = definition.get("requestBody")
    if body is None:
        return None, False
    if "$ref" in body:
        body = spec.load_spec()["components"]["requestBodies"][_ref_name(body)]
    schema = body.get("content", {}).get("application/json", {}).get("schema")
    return schema, bool(body.get("required")) and schema is not None


def _action_body(schema: dict) -> dict:
    """An action's body with its parameters that cannot be null marked required.

    OData hands an action all its parameters; the generator of the spec does not say which
    must be given. One that cannot be null (GetDirectoryInfo's `parameters`) has no sensible
    value when left out, so the form asks for it instead of letting the PBX fail on it.
    """
    required = [
        name
        for name, prop in schema.get("properties", {}).items()
        if not prop.get("nullable") and "default" not in prop
    ]
    return {**schema, "required": required} if required else schema


def _response_schema(response: dict) -> dict | None:
    if "$ref" in response:
        response = spec.load_spec()["components"]["responses"][_ref_name(response)]
    return response.get("content", {}).get("application/json", {}).get("schema")


def _collection_value(schema: dict | None) -> dict | None:
    """The `value` array property of a collection answer's schema, or None."""
    if not schema:
        return None
    if "$ref" in schema:
        schema = spec.schema(_ref_name(schema))
    for part in (schema, *schema.get("allOf", [])):
        value = part.get("properties", {}).get("value")
        if value and value.get("type") == "array":
            return value
    return None


def _ref_name(node: dict) -> str | None:
    """The component a node refers to, directly or through a one-part allOf."""
    ref = node.get("$ref")
    if ref is None and len(node.get("allOf", [])) == 1:
        ref = node["allOf"][0].get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


@cache
def _haystacks() -> dict[str, str]:
    return {
        op.id: f"{op.id}\n{op.path}\n{op.summary}\n{op.tag}".lower() for op in operations().values()
    }
