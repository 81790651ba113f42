"""Griffe extension: signatures for ``flax.struct.dataclass`` classes (loaded by mkdocstrings, see mkdocs.yml).

Griffe's static analysis recreates ``__init__`` only for ``@dataclasses.dataclass``; snnjax's models are
``@struct.dataclass`` (flax), whose fields are declared with ``struct.field(pytree_node=..., default=...,
kw_only=...)``. Without this extension their pages would show no signature and every documented argument as
required. This builds the same ``__init__`` a dataclass gets: annotated class attributes in definition order,
inherited fields first, ``kw_only`` fields last, defaults from ``default=`` / ``default_factory=``.

It also turns the Sphinx roles some docstrings use (``:class:`LIF` ``, ``:func:`~snnjax.simulate` ``) into code
spans, which Markdown would otherwise print with their role prefix.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

DECORATORS = {"flax.struct.dataclass"}
FIELDS = {"flax.struct.field", "dataclasses.field"}


SPHINX_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|obj|data|exc|const|ref|term):`~?([^`]+)`")


def _plain_roles(obj: griffe.Object) -> None:
    if obj.docstring is not None and ":`" in obj.docstring.value:
        obj.docstring.value = SPHINX_ROLE.sub(r"`\1`", obj.docstring.value)


def _is_struct_dataclass(cls: griffe.Class) -> bool:
    for decorator in cls.decorators:
        value = decorator.value
        if isinstance(value, griffe.ExprCall):
            value = value.function
        if isinstance(value, griffe.Expr) and value.canonical_path in DECORATORS:
            return True
    return False


def _field_arguments(value: Any) -> dict[str, Any] | None:
    """Keyword arguments of a ``struct.field(...)`` call, or None when the value is not such a call."""
    if isinstance(value, griffe.ExprCall) and value.canonical_path in FIELDS:
        return {arg.name: arg.value for arg in value.arguments if isinstance(arg, griffe.ExprKeyword)}
    return None


def _own_parameters(cls: griffe.Class) -> list[griffe.Parameter]:
    parameters = []
    for member in cls.members.values():
        if member.is_alias or not member.is_attribute or member.annotation is None:
            continue
        if "property" in member.labels or (
            "class-attribute" in member.labels and "instance-attribute" not in member.labels
        ):
            continue  # properties and ClassVar annotations are not fields
        args = _field_arguments(member.value)
        if args is not None and str(args.get("init", "True")) == "False":
            continue
        if args is None:
            default = member.value
        elif "default_factory" in args:
            default = griffe.ExprCall(function=args["default_factory"], arguments=[])
        else:
            default = args.get("default")
        kw_only = args is not None and str(args.get("kw_only", "False")) == "True"
        kind = griffe.ParameterKind.keyword_only if kw_only else griffe.ParameterKind.positional_or_keyword
        parameters.append(
            griffe.Parameter(
                member.name, annotation=member.annotation, kind=kind, default=default, docstring=member.docstring
            )
        )
    return parameters


def _set_init(cls: griffe.Class) -> None:
    if "__init__" in cls.members or not _is_struct_dataclass(cls):
        return
    try:
        mro = cls.mro()
    except ValueError:
        mro = []
    parameters: dict[str, griffe.Parameter] = {}
    for parent in [*reversed(mro), cls]:
        if parent is cls or (isinstance(parent, griffe.Class) and _is_struct_dataclass(parent)):
            for param in _own_parameters(parent):
                parameters[param.name] = param
    ordered = [p for p in parameters.values() if p.kind is not griffe.ParameterKind.keyword_only]
    ordered += [p for p in parameters.values() if p.kind is griffe.ParameterKind.keyword_only]
    cls.labels.add("dataclass")
    init = griffe.Function(
        "__init__",
        lineno=0,
        endlineno=0,
        parent=cls,
        parameters=griffe.Parameters(
            griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword), *ordered
        ),
        returns="None",
    )
    cls.set_member("__init__", init)


def _walk(obj: griffe.Module | griffe.Class, seen: set[str]) -> None:
    if obj.path in seen:
        return
    seen.add(obj.path)
    _plain_roles(obj)
    for member in obj.members.values():
        if member.is_alias:
            continue
        _plain_roles(member)
        if member.is_class:
            _set_init(member)
            _walk(member, seen)
        elif member.is_module:
            _walk(member, seen)


class FlaxStructDataclasses(griffe.Extension):
    """Give ``@flax.struct.dataclass`` classes the ``__init__`` signature a dataclass would have."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        _walk(pkg, set())
