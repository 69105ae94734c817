"""The validator's fast path: the event schemas compiled into msgspec types, to certify the common case.

The JSON Schema files of ``schemas/`` stay the one contract, and the compiled fastjsonschema
validator (:func:`streams.contract.schemas.validator_for`) the one judge of what breaks it. This
module compiles the same files a second time, into one msgspec ``Struct`` per (schema version,
event type): the envelope and the payload fields the schema names, each with its JSON type and
bounds, the fields the schema requires of that type required, and **no other field**. Converting
an event to its Struct (msgspec, in C, about a microsecond) therefore proves that the schema accepts
it, and :func:`conforms` says so; :func:`streams.contract.acceptance.check_event` then skips the
validator, and everything else (the order of the reasons, the timestamps, the future rule, the
upcast, the log row) runs the same code as for any record.

The types are narrower than the schema, never wider: an unknown extra field, a float (even an
integral one, even a legacy ``investment_wan``), ``null``, a nested value, a bool where an integer
is expected, a value out of bounds, a type a version does not have (``milestone_planned`` in v1)
... make :func:`conforms` false, and the record takes the standard validator, whose verdict and
message stand. Formats (timestamps, calendar dates) are checked by the very functions the
validator calls (:data:`streams.contract.schemas.FORMATS`).

The compiler understands the constructs the schemas use (``allOf``, ``properties``, ``required``,
``if``/``then``/``else`` on the event type's ``const`` or ``enum``, a ``then`` forbidding one field
(``not`` ``required``), ``not`` of event types, and per field ``type`` (an ``array`` of strings too),
``enum``, ``const``, ``minLength``, ``maxLength``, ``minimum``, ``maximum``, ``format``). A schema
using anything else compiles to no fast path at all (:data:`UNSUPPORTED` says why; a unit test
requires it to be empty), so a change to the contract can make replay slower, never different.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Literal, Union

import fastjsonschema
import msgspec

from streams.contract.events import SCHEMA_VERSIONS
from streams.contract.schemas import FORMATS, schema_for

log = logging.getLogger(__name__)

#: The field whose value picks the Struct (DOMAIN.md §2: the event's type).
TAG = "event_type"
#: Keywords that say nothing about validity.
_ANNOTATIONS = frozenset({"$schema", "$comment", "title", "description", "examples", "default"})


class Unsupported(ValueError):
    """The schema uses a construct this compiler does not translate."""


@dataclass
class _Collected:
    """What one schema says, gathered over its ``allOf`` parts (all of which apply)."""

    properties: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    required: set[str] = field(default_factory=set)
    required_by_tag: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: fields a type must not have (``then: {"not": {"required": [...]}}``: a trip event's project_id, §8)
    forbidden_by_tag: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: fields every type but those named must have (``else``), as (named types, fields)
    required_unless: list[tuple[frozenset[str], set[str]]] = field(default_factory=list)
    excluded_tags: set[str] = field(default_factory=set)


def _keys(node: dict, allowed: set[str], where: str) -> None:
    extra = set(node) - allowed - _ANNOTATIONS
    if extra:
        raise Unsupported(f"{where}: {', '.join(sorted(extra))}")


def _tags(node: dict, where: str) -> frozenset[str]:
    """The event types named by ``{"properties": {"event_type": {"const": T}}}`` or ``{"enum": [T, ...]}``
    (optionally requiring the tag)."""
    _keys(node, {"properties", "required"}, where)
    if set(node.get("required", [TAG])) != {TAG} or set(node.get("properties", {})) != {TAG}:
        raise Unsupported(f"{where}: a condition other than the event type")
    condition = node["properties"][TAG]
    _keys(condition, {"const", "enum"}, where)
    named = [condition["const"]] if "const" in condition else condition.get("enum")
    if len(condition) != 1 or not isinstance(named, list) or not named or not all(isinstance(t, str) for t in named):
        raise Unsupported(f"{where}: a condition other than event types")
    return frozenset(named)


def _collect(node: Any, into: _Collected, where: str = "schema") -> None:
    if not isinstance(node, dict):
        raise Unsupported(f"{where}: not an object")
    _keys(node, {"type", "required", "properties", "allOf", "if", "then", "else", "not"}, where)
    if node.get("type", "object") != "object":
        raise Unsupported(f"{where}: type {node['type']!r}")
    into.required |= set(node.get("required", ()))
    for name, constraint in node.get("properties", {}).items():
        into.properties[name].append(constraint)
    for i, part in enumerate(node.get("allOf", ())):
        _collect(part, into, f"{where}/allOf/{i}")
    if "if" in node or "then" in node:
        if "if" not in node or "then" not in node:
            raise Unsupported(f"{where}: if without then, or then without if")
        then, tags = node["then"], _tags(node["if"], f"{where}/if")
        _keys(then, {"required", "not"}, f"{where}/then")
        forbidden = set()
        if "not" in then:
            _keys(then["not"], {"required"}, f"{where}/then/not")
            forbidden = set(then["not"].get("required", ()))
            if len(forbidden) != 1:  # not (a and b) forbids only both together, which no Struct says
                raise Unsupported(f"{where}/then/not: other than one field")
        for tag in tags:
            into.required_by_tag[tag] |= set(then.get("required", ()))
            into.forbidden_by_tag[tag] |= forbidden
        if "else" in node:
            _keys(node["else"], {"required"}, f"{where}/else")
            into.required_unless.append((tags, set(node["else"].get("required", ()))))
    elif "else" in node:
        raise Unsupported(f"{where}: else without if")
    if "not" in node:
        into.excluded_tags |= _tags(node["not"], f"{where}/not")


_STRING = {"type", "minLength", "maxLength", "format", "enum", "const"}
_NUMBER = {"type", "minimum", "maximum", "enum", "const"}
_SCALAR = {"type", "enum", "const"}


def _allowed_literals(name: str, constraints: list[dict]) -> list:
    """The values of ``enum`` / ``const`` that every constraint on the field accepts, judged by the validator."""
    candidates: list | None = None
    for c in constraints:
        for values in ([c["const"]] if "const" in c else None, c.get("enum")):
            if values is None:
                continue
            if candidates is None:
                candidates = list(values)
            else:  # the same value with the same JSON type (1 is not true, 1 is not 1.0 here)
                candidates = [v for v in candidates if any(type(v) is type(w) and v == w for w in values)]
    judge = fastjsonschema.compile({"allOf": constraints}, formats=FORMATS)
    allowed = []
    for value in candidates or ():
        if type(value) not in (str, int):  # msgspec Literals hold str and int; other values take the standard path
            continue
        try:
            judge(value)
        except fastjsonschema.JsonSchemaValueException:
            continue
        allowed.append(value)
    if not allowed:
        raise Unsupported(f"{name}: no value can be certified")
    return allowed


def _bound(values: list, pick: Callable, name: str) -> int | None:
    if not values:
        return None
    if any(type(v) is not int for v in values):
        raise Unsupported(f"{name}: a bound that is not an integer")
    return pick(values)


def _field_type(name: str, constraints: list[dict]) -> tuple[Any, tuple[Callable[[Any], bool], ...]]:
    """The msgspec type of one field, and the format checks its value must pass too."""
    for c in constraints:
        if not isinstance(c, dict):
            raise Unsupported(f"{name}: a constraint that is not an object")
    if any("const" in c or "enum" in c for c in constraints):
        return Literal[tuple(_allowed_literals(name, constraints))], ()
    if any(not isinstance(c.get("type", ""), str) for c in constraints):
        raise Unsupported(f"{name}: a list of types")
    types = {c["type"] for c in constraints if "type" in c}
    if types == {"string"}:
        for c in constraints:
            _keys(c, _STRING, name)
        formats = {c["format"] for c in constraints if "format" in c}
        if formats - set(FORMATS):
            raise Unsupported(f"{name}: format {sorted(formats - set(FORMATS))}")
        meta = msgspec.Meta(min_length=_bound([c["minLength"] for c in constraints if "minLength" in c], max, name),
                            max_length=_bound([c["maxLength"] for c in constraints if "maxLength" in c], min, name))
        return Annotated[str, meta], tuple(FORMATS[f] for f in sorted(formats))
    if types in ({"integer"}, {"number"}, {"integer", "number"}):  # a number is certified only as an integer
        for c in constraints:
            _keys(c, _NUMBER, name)
        meta = msgspec.Meta(ge=_bound([c["minimum"] for c in constraints if "minimum" in c], max, name),
                            le=_bound([c["maximum"] for c in constraints if "maximum" in c], min, name))
        return Annotated[int, meta], ()
    if types == {"boolean"}:
        for c in constraints:
            _keys(c, _SCALAR, name)
        return bool, ()
    if types == {"array"}:  # an array of strings (a trip's destinations, §8)
        for c in constraints:
            _keys(c, {"type", "items"}, name)
        items = [c["items"] for c in constraints if "items" in c]
        if not items or any(i != {"type": "string"} for i in items):
            raise Unsupported(f"{name}: an array of other than strings")
        return list[str], ()
    raise Unsupported(f"{name}: type {sorted(types) or 'unconstrained'}")


@dataclass(frozen=True)
class Certifier:
    """One Struct per event type of one schema version, with each one's format checks."""

    structs: dict[str, type]
    formats: dict[str, tuple[tuple[str, Callable[[Any], bool]], ...]]


def compile_schema(schema: dict) -> Certifier:
    """The Structs that certify events of ``schema`` (raises :class:`Unsupported`)."""
    collected = _Collected()
    _collect(schema, collected)
    if TAG not in collected.required or TAG not in collected.properties:
        raise Unsupported(f"{TAG} is not a required property")
    tags = [t for t in _allowed_literals(TAG, collected.properties[TAG]) if isinstance(t, str)]
    fields = {name: _field_type(name, cs) for name, cs in collected.properties.items() if name != TAG}
    missing = (collected.required | set().union(*collected.required_by_tag.values(),
                                                 *(r for _, r in collected.required_unless))) - set(fields) - {TAG}
    if missing:
        raise Unsupported(f"required without a type: {', '.join(sorted(missing))}")
    structs, formats = {}, {}
    for tag in tags:
        if tag in collected.excluded_tags:
            continue
        required = collected.required | collected.required_by_tag.get(tag, set())
        required |= set().union(*(r for named, r in collected.required_unless if tag not in named))
        forbidden = collected.forbidden_by_tag.get(tag, set())
        if forbidden & required:
            continue  # no record of this type conforms
        # a forbidden field is no field of the Struct, so a record that has it is not certified (the validator says why)
        spec = [(name, t) if name in required else (name, Union[t, msgspec.UnsetType], msgspec.UNSET)
                for name, (t, _) in fields.items() if name not in forbidden]
        try:
            structs[tag] = msgspec.defstruct(f"Certified_{tag}", spec, tag_field=TAG, tag=tag, kw_only=True,
                                             forbid_unknown_fields=True, gc=False)  # scalars, lists of text: no cycles
        except (TypeError, ValueError) as e:
            raise Unsupported(f"{tag}: {e}") from e
        formats[tag] = tuple((name, check) for name, (_, checks) in fields.items() if name not in forbidden
                             for check in checks)
    return Certifier(structs, formats)


def _pinned(struct: type, version: int) -> bool:
    """Whether the Struct takes records of ``version`` only, so a record decodes into one version's Structs at
    most, and the versions can be tried in any order."""
    import msgspec.inspect as mi

    return any(f.name == "schema_version" and f.type == mi.LiteralType((version,))
               for f in mi.type_info(struct).fields)


def _compile_all() -> tuple[dict[tuple[int, str], tuple[type, tuple]], dict[int, msgspec.json.Decoder], dict[int, str]]:
    routes, decoders, unsupported = {}, {}, {}
    for version in SCHEMA_VERSIONS:
        try:
            certifier = compile_schema(schema_for(version))
            if not all(_pinned(struct, version) for struct in certifier.structs.values()):
                raise Unsupported("schema_version is not the version's constant")
        except Unsupported as e:
            unsupported[version] = str(e)
            log.warning("schema_version %d has no fast path (%s): its records all take the standard validator",
                        version, e)
            continue
        for tag, struct in certifier.structs.items():
            routes[(version, tag)] = (struct, certifier.formats[tag])
        decoders[version] = msgspec.json.Decoder(Union[tuple(certifier.structs.values())])
    return routes, decoders, unsupported


#: (schema_version, event_type) → (Struct, format checks); per version, the decoder of its Structs
#: (a union tagged by the event type); and per version why it has no fast path, if it has none.
ROUTES, DECODERS, UNSUPPORTED = _compile_all()
_FORMATS = {struct: formats for struct, formats in ROUTES.values()}
#: The versions' decoders, the newest (the common records) first.
_DECODE = [DECODERS[v].decode for v in sorted(DECODERS, reverse=True)]


def conforms(event: dict) -> bool:
    """True only if ``event`` (a parsed JSON object) certainly conforms to its version's schema.

    False says nothing: the standard validator decides.
    """
    version, tag = event.get("schema_version"), event.get(TAG)
    if type(version) is not int or type(tag) is not str:
        return False
    route = ROUTES.get((version, tag))
    if route is None:
        return False
    struct, formats = route
    try:
        msgspec.convert(event, struct)
    except (msgspec.ValidationError, TypeError, ValueError, OverflowError):
        return False
    for name, check in formats:
        value = event.get(name)
        if value is not None and not check(value):
            return False
    return True


def certified(raw: bytes) -> dict | None:
    """The event of one record's bytes when typed decoding certifies it, else None (the standard path decides).

    Certified means: valid UTF-8 and JSON that msgspec decodes into the Struct of its version and
    type, so a flat JSON object whose every field is one the schema names, of its type, the
    required ones present, and whose formats pass; the standard parser reads the same object
    from those bytes (on a repeated key the last one counts in both; msgspec refuses a repeated
    event type that differs, a lone surrogate, anything not JSON), and the validator accepts it.
    The event is returned as the parser would give it (a dict; key order aside).
    """
    decoded = decode(raw)
    if decoded is None:
        return None
    for name, check in _FORMATS[type(decoded)]:
        value = getattr(decoded, name)
        if value is not msgspec.UNSET and not check(value):
            return None
    return msgspec.to_builtins(decoded)


def decode(raw: bytes) -> msgspec.Struct | None:
    """One record's bytes as the Struct of its version and type, or None; its formats are not checked yet."""
    for decode_as in _DECODE:
        try:
            return decode_as(raw)
        except msgspec.ValidationError:  # (another version's Structs may take it)
            continue
        except Exception:  # not JSON, not UTF-8, ...: the standard parser says why
            return None
    return None
