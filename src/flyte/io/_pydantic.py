"""Let File, Dir and DataFrame be fields of pydantic models without making them pydantic models.

pydantic calls ``__get_pydantic_core_schema__`` only when it is in use, so nothing here is
imported unless pydantic already is. Instances validate as themselves or from their wire dict
and serialize to their wire dict.
"""

from __future__ import annotations

import typing
from typing import Any


def reference_schema(source: Any, required: tuple[str, ...], optional: tuple[str, ...]) -> Any:
    """A pydantic-core schema for a class with ``_from_wire(dict)`` and ``_to_wire() -> dict``."""
    from pydantic_core import core_schema as cs

    cls = typing.get_origin(source) or source
    fields = {key: cs.typed_dict_field(cs.str_schema()) for key in required}
    for key in optional:
        fields[key] = cs.typed_dict_field(cs.nullable_schema(cs.str_schema()), required=False)
    from_dict = cs.no_info_after_validator_function(cls._from_wire, cs.typed_dict_schema(fields))
    return cs.json_or_python_schema(
        json_schema=from_dict,
        python_schema=cs.union_schema([cs.is_instance_schema(cls), from_dict]),
        serialization=cs.plain_serializer_function_ser_schema(lambda value: value._to_wire()),
    )
