"""Response models for the OpenAPI document, built from the query contract's Structs.

The projector's replies are declared once, as msgspec Structs in ``schemas/`` (a test holds
real replies to them field by field). ``model_of`` turns such a Struct into a pydantic model
so ``/openapi.json`` describes every field of every read; routes then hand the reply on as it
came (``Projected``) instead of validating it a second time.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Any, Literal, Union

import msgspec
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, create_model


class Projected(Response):
    """A projector reply passed through as JSON (the route's ``response_model`` documents it)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


def _is_struct(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, msgspec.Struct)


def annotation(kind: Any) -> Any:
    """A msgspec type as a pydantic one: Structs become models; UNSET and Meta are dropped."""
    if _is_struct(kind):
        return model_of(kind)
    origin = typing.get_origin(kind)
    if origin is typing.Annotated:
        return annotation(typing.get_args(kind)[0])
    if origin in (Union, types.UnionType):
        args = [annotation(a) for a in typing.get_args(kind) if a is not msgspec.UnsetType]
        return args[0] if len(args) == 1 else Union[tuple(args)]
    if origin is Literal:
        return kind
    if origin in (list, tuple, set, frozenset):
        return list[annotation(typing.get_args(kind)[0])] if typing.get_args(kind) else list
    if origin is dict:
        key, value = typing.get_args(kind) or (str, Any)
        return dict[annotation(key), annotation(value)]
    return kind


@functools.cache
def model_of(struct: type[msgspec.Struct]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for f in msgspec.structs.fields(struct):
        kind = annotation(f.type)
        if f.required:
            fields[f.name] = (kind, ...)
        elif f.default is msgspec.UNSET or f.default is msgspec.NODEFAULT:
            fields[f.name] = (kind | None, None)  # only some replies carry it
        else:
            fields[f.name] = (kind, f.default)
    return create_model(struct.__name__, __config__=ConfigDict(extra="allow"),
                        __doc__=struct.__doc__, **fields)


def reply_model(query: str) -> type[BaseModel]:
    """The documented response of a route that answers with query ``query``'s reply."""
    from schemas.queries import QUERIES

    return model_of(QUERIES[query][1])
