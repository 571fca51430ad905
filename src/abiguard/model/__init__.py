"""The one model every source produces: a BTF-like type table for one target."""

from .graph import Diagnostic, HeaderFailure, TypeGraph
from .target import ALL_ARCHES, KERNEL_ARCHES, TARGETS, Target, get_target, host_target, parse_arch_list
from .types import (
    COMPOSITE_KINDS,
    ENUM_KINDS,
    MODIFIER_KINDS,
    TRANSPARENT_KINDS,
    VOID,
    Constant,
    Enumerator,
    IntEncoding,
    Kind,
    Member,
    Param,
    SecVar,
    Type,
)

__all__ = [
    "ALL_ARCHES",
    "COMPOSITE_KINDS",
    "ENUM_KINDS",
    "KERNEL_ARCHES",
    "MODIFIER_KINDS",
    "TARGETS",
    "TRANSPARENT_KINDS",
    "VOID",
    "Constant",
    "Diagnostic",
    "Enumerator",
    "HeaderFailure",
    "IntEncoding",
    "Kind",
    "Member",
    "Param",
    "SecVar",
    "Target",
    "Type",
    "TypeGraph",
    "get_target",
    "host_target",
    "parse_arch_list",
]
