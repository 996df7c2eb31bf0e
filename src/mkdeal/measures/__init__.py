"""Progress measures: the registry of definitions, the engine, disclosure control.

`MEASURES` maps each registered measure's stable id to its definition
(`mkdeal.measures.definition.Measure`), in a fixed order; `get_measure` finds one with a
sentence when there is none. A new measure joins by being added to `_ALL`, and with that
joins the conformance tests (DuckDB against PostgreSQL) and the published snapshot.
"""

from __future__ import annotations

from mkdeal.errors import UserError
from mkdeal.measures import discharge, flow, reablement, waits, weight
from mkdeal.measures.definition import Measure

_ALL: tuple[Measure, ...] = (
    *flow.MEASURES,
    *discharge.MEASURES,
    *waits.MEASURES,
    *reablement.MEASURES,
    *weight.MEASURES,
)

MEASURES: dict[str, Measure] = {measure.id: measure for measure in _ALL}
if len(MEASURES) != len(_ALL):
    raise ValueError("Two registered measures share an id.")


def get_measure(measure_id: str) -> Measure:
    """The measure with this id, or a UserError listing the ids."""
    try:
        return MEASURES[measure_id]
    except KeyError:
        raise UserError(
            f"There is no measure {measure_id!r}; `mkdeal measures list` shows them "
            f"({', '.join(MEASURES)})."
        ) from None


__all__ = ["MEASURES", "Measure", "get_measure"]
