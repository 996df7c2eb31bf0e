"""Statistical process control (SPC): XmR charts as NHS England's "Making Data Count".

Pure: no I/O, no clock. `spc` charts one dated, optionally faceted series; `spc_batch`
charts many equal-length series at once.

Limits: mean +/- 2.66 x mean moving range; the near-limit (two-sigma) band is mean +/-
(2/3 x 2.66) x mean moving range. Rules, in precedence order (`mkdeal.spc.rules`):
a point beyond a process limit; a trend of 7 points each strictly higher (or lower) than
the one before (6 rises; ties break it); two of three consecutive points beyond the
two-sigma line, all three on one side of the mean; a shift of 7 points on one side of
the mean (a point on the mean breaks it). Runs of 6 are an option. A missing period is a
gap: it breaks runs, trends and two-of-three windows, and no moving range spans it.

Two modes:

- ``mdc`` (default): NHS England's Making Data Count Excel tool since its November 2023
  change. Moving ranges are not screened; two-of-three counts every point beyond two
  sigma, including beyond three; where one point is flagged as improvement by one rule
  and as concern by another, improvement shows.
- ``plotthedots``: the R package NHSRplotthedots 0.2.2. Moving ranges at or above 3.267
  x their mean are screened out before the limits; two-of-three counts only points
  between two and three sigma; the first rule by precedence decides a point's type.

Worked example: improvement wins, so reversing the direction need not swap the types.
Take 13, 17, 13, 17, 13, 17, 13, 17, 9, 10, 11, 12, 12.5, 13, 13.5, 17, 13, 17, 13, 17,
13 (mean 13.86, limits 5.35 to 22.37). The eight points from 9 up to the 17 after 13.5
rise each time: a trend up. The seven from 9 to 13.5 sit below the mean: a shift down.
With ``improvement="increase"`` the trend is improvement and the shift concern, so MDC
shows all eight as improvement. With ``improvement="decrease"`` the shift is improvement
and the trend concern, so MDC shows the seven as improvement again, and only the last 17
(in the trend alone) as concern. plotthedots lets the trend (higher precedence) decide:
eight improvement points one way, eight concern points the other.
"""

from mkdeal.spc.engine import (
    ASSURANCE_ICONS,
    POINT_TYPES,
    VARIATION_ICONS,
    BatchResult,
    FacetSummary,
    SpcResult,
    spc,
    spc_batch,
)

__all__ = [
    "ASSURANCE_ICONS",
    "POINT_TYPES",
    "VARIATION_ICONS",
    "BatchResult",
    "FacetSummary",
    "SpcResult",
    "spc",
    "spc_batch",
]
