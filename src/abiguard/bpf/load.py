"""Will the object load on this kernel? Every load check, on one object and one parsed kernel."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .attach import check_attach
from .candidates import TargetKernel
from .context import CtxUse, check_context, context_uses
from .findings import Check, LoadFinding, Outcome, enum_name
from .helpers import FUNC_ENUM, FUNC_PREFIX, HelperCall, check_helpers, helper_calls
from .kconfig import kconfig_findings
from .kfacts import facts_for
from .kfuncs import Ksym, check_ksyms, ksyms
from .maps import MAP_ENUM, MAP_PREFIX, MapDef, check_global_data, check_maps, map_defs
from .objfile import BpfObject
from .programs import Program, check_program_types, programs
from .sections import autoloaded


@dataclass(frozen=True)
class ObjectPlan:
    """What the object needs from any kernel, gathered once per object."""

    helpers: tuple[HelperCall, ...]
    ksyms: tuple[Ksym, ...]
    programs: tuple[Program, ...]
    contexts: tuple[CtxUse, ...]
    maps: tuple[MapDef, ...]


def plan_for(obj: BpfObject) -> ObjectPlan:
    plan = obj.memo.get("load-plan")
    if not isinstance(plan, ObjectPlan):
        progs = programs(obj)
        plan = ObjectPlan(
            tuple(helper_calls(obj)), tuple(ksyms(obj)), tuple(progs), tuple(context_uses(obj, progs)),
            tuple(map_defs(obj)),
        )
        obj.memo["load-plan"] = plan
    return plan


def load_findings(obj: BpfObject, kernel: TargetKernel) -> list[LoadFinding]:
    """Every way this kernel keeps the object from loading (or that BTF cannot rule out), in check order."""
    plan, facts = plan_for(obj), facts_for(kernel)
    progs = list(plan.programs)
    found = [
        *check_program_types(obj, progs, facts),
        *check_attach(obj, progs, facts),
        *check_helpers(obj, list(plan.helpers), facts),
        *check_ksyms(obj, list(plan.ksyms), facts),
        *kconfig_findings(obj),
        *check_maps(obj, list(plan.maps), facts),
        *check_global_data(obj, facts),
        *check_context(obj, list(plan.contexts), facts),
    ]
    return [_optional(f) if not autoloaded(f.section) and f.check not in _OBJECT_WIDE else f for f in found]


# libbpf resolves every extern of the object, whichever programs load.
_OBJECT_WIDE = frozenset({Check.KFUNC, Check.KSYM, Check.KCONFIG, Check.MAP, Check.GLOBAL_DATA})


def _optional(f: LoadFinding) -> LoadFinding:
    """A failure in a program that loads only on request decides nothing by itself."""
    if f.outcome != Outcome.FAILS:
        return f
    return replace(f, outcome=Outcome.UNKNOWN, message=f"{f.message} (SEC(\"?...\"): loaded only on request)")


def ref_names(obj: BpfObject, kernel: TargetKernel) -> dict[tuple[str, int], str]:
    """Names this kernel gives the helper ids and map types the object uses by number.

    A kernel that lacks a helper cannot name it; another kernel of the same run can.
    """
    plan, facts = plan_for(obj), facts_for(kernel)
    wanted = [(FUNC_ENUM, FUNC_PREFIX, c.helper_id) for c in plan.helpers]
    wanted += [(MAP_ENUM, MAP_PREFIX, m.map_type) for m in plan.maps if m.map_type is not None]
    out = {}
    for enum, prefix, value in wanted:
        name = enum_name(facts.enum(enum), value, prefix)
        if name is not None:
            out[(enum, value)] = name
    return out
