"""STANAG 4774 confidentiality labels: read and write the XML form.

Written documents are deterministic (fixed element order, sorted values, UTC
time to the second), so `to_xml(*from_xml(text))` gives back `text` exactly for
any document this module wrote. Only the standard library parses; DOCTYPE and
entity declarations are refused outright, which closes XXE and entity bombs.

A value of another policy kept qualified in a label (`FR:NUCLÉAIRE` in a NATO
label, see `egide.core.lattice`) is written in a category named after its
policy and category (`TagName="FR:COMPARTIMENT"`) with the plain value, and
read back the same way.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from egide.core.lattice import Label, translate
from egide.core.markings import PolicyRegistry
from egide.core.policy import Category, Policy, TagType, normalise
from egide.errors import InvalidLabel

NAMESPACE = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"
_NS = f"{{{NAMESPACE}}}"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class ConfidentialityLabel:
    """A parsed STANAG 4774 originator confidentiality label."""

    label: Label
    created: datetime


def to_xml(label: Label, registry: PolicyRegistry, created: datetime | None = None) -> str:
    """The `originatorConfidentialityLabel` document for `label`."""
    moment = (created or datetime.now(UTC)).astimezone(UTC)
    policy = label.policy
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<originatorConfidentialityLabel xmlns="{NAMESPACE}">',
        "  <ConfidentialityInformation>",
        f"    <PolicyIdentifier>{escape(policy.identifier)}</PolicyIdentifier>",
        f"    <Classification>{escape(label.level_info.name_en)}</Classification>",
    ]
    categories: dict[tuple[str, TagType], list[str]] = {}
    for value in label.compartments | label.handling:
        owner_id, qualified, plain = value.rpartition(":")
        owner = registry.get(owner_id) if qualified else policy
        category = owner.category_of(plain)
        tag = f"{owner.id}:{category.name}" if qualified else category.name
        categories.setdefault((tag, category.type), []).append(plain)
    for name, rel in label.releasable:
        categories[(name, TagType.PERMISSIVE)] = list(rel)
    for (name, kind), values in sorted(categories.items(), key=lambda item: item[0][0]):
        lines.append(f"    <Category TagName={quoteattr(name)} Type={quoteattr(kind.value)}>")
        lines.extend(f"      <GenericValue>{escape(v)}</GenericValue>" for v in sorted(values))
        lines.append("    </Category>")
    lines += [
        "  </ConfidentialityInformation>",
        f"  <CreationDateTime>{moment.strftime(_TIME_FORMAT)}</CreationDateTime>",
        "</originatorConfidentialityLabel>",
        "",
    ]
    return "\n".join(lines)


def from_xml(text: str, registry: PolicyRegistry) -> ConfidentialityLabel:
    """Read an `originatorConfidentialityLabel` document.

    Raises:
        InvalidLabel: malformed XML (with its line), unsafe constructs, missing
            elements, unknown policy, classification or category, wrong type.
    """
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise InvalidLabel(
            "STANAG 4774 label refused: DOCTYPE and ENTITY declarations are not allowed"
        )
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        line, column = error.position
        raise InvalidLabel(
            f"STANAG 4774 label is not well-formed XML (line {line}, column {column})"
        ) from None
    if root.tag != f"{_NS}originatorConfidentialityLabel":
        raise InvalidLabel(
            f"root element must be originatorConfidentialityLabel in namespace {NAMESPACE}, "
            f"found {root.tag!r}"
        )
    info = _child(root, "ConfidentialityInformation")
    policy = registry.by_identifier(_text(_child(info, "PolicyIdentifier")))
    classification = normalise(_text(_child(info, "Classification")))
    rank = next(
        (
            level.rank
            for level in policy.levels
            if classification
            in {normalise(n) for n in (level.name_en, level.name_fr, *level.aliases)}
        ),
        None,
    )
    if rank is None:
        raise InvalidLabel(
            f"classification {classification!r} is not a level of policy {policy.id}"
        )
    compartments: set[str] = set()
    handling: set[str] = set()
    releasable: dict[str, frozenset[str]] = {}
    for element in info.findall(f"{_NS}Category"):
        name, kind = element.get("TagName"), element.get("Type")
        if name is None or kind is None:
            raise InvalidLabel("every Category needs TagName and Type attributes")
        owner, category = _category(registry, policy, name)
        if kind != category.type.value:
            raise InvalidLabel(
                f"category {name!r} has Type {kind!r}; "
                f"policy {policy.id} says {category.type.value}"
            )
        values = [_text(v) for v in element.findall(f"{_NS}GenericValue")]
        unknown = [v for v in values if not category.open and v not in category.values]
        if unknown:
            raise InvalidLabel(f"value {unknown[0]!r} is not defined for category {name!r}")
        if category.type is TagType.PERMISSIVE:
            if owner != policy:
                raise InvalidLabel(f"releasability category {name!r} must be of policy {policy.id}")
            releasable[name] = frozenset(values)
        elif category.type is TagType.RESTRICTIVE:
            compartments.update(translate(frozenset(values), owner, policy))
        else:
            handling.update(translate(frozenset(values), owner, policy))
    created_text = _text(_child(root, "CreationDateTime"))
    try:
        created = datetime.strptime(created_text, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidLabel(
            f"CreationDateTime {created_text!r} must read YYYY-MM-DDTHH:MM:SSZ"
        ) from None
    label = Label(
        policy=policy,
        level=rank,
        compartments=frozenset(compartments),
        releasable=tuple(releasable.items()),
        handling=frozenset(handling),
    )
    return ConfidentialityLabel(label=label, created=created)


def _category(registry: PolicyRegistry, policy: Policy, name: str) -> tuple[Policy, Category]:
    """The policy and category a TagName names: `COMPARTIMENT`, or `FR:COMPARTIMENT`."""
    owner_id, qualified, plain = name.rpartition(":")
    owner = registry.get(owner_id) if qualified else policy
    category = next((c for c in owner.categories if c.name == plain), None)
    if category is None:
        raise InvalidLabel(f"category {name!r} is not defined by policy {owner.id}")
    return owner, category


def _child(parent: ET.Element, name: str) -> ET.Element:
    found = parent.find(f"{_NS}{name}")
    if found is None:
        raise InvalidLabel(f"STANAG 4774 label is missing the {name} element")
    return found


def _text(element: ET.Element) -> str:
    value = (element.text or "").strip()
    if not value:
        raise InvalidLabel(f"element {element.tag.removeprefix(_NS)} must not be empty")
    return value
