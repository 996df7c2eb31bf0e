"""Children's BMI z-scores (SDS) and centiles against the UK90 reference, vectorised.

For the National Child Measurement Programme (NCMP: Reception, about 4-5 years, and Year 6,
about 10-11): a national year is about 1.1 million children, so everything here works on
numpy arrays.

Sources:

- Reference: UK90, the British 1990 growth reference. Cole TJ, Freeman JV, Preece MA. Body
  mass index reference curves for the UK, 1990. Arch Dis Child 1995;73:25-29; and British
  1990 growth reference centiles for weight, height, body mass index and head circumference
  fitted by maximum penalized likelihood. Stat Med 1998;17:407-429.
- Method: LMS. Cole TJ, Green PJ. Smoothing reference centile curves: the LMS method and
  penalized likelihood. Stat Med 1992;11:1305-1319. A measurement X with the age- and
  sex-specific L, M, S has z = ((X/M)^L - 1) / (L S), or ln(X/M) / S when L is 0.
- Data and reference implementation: the RCPCH's rcpchgrowth package (pinned 4.6.5). Its
  monthly UK90 BMI LMS table for 4 to 20 years (``rcpchgrowth/data_tables/uk90_child.json``,
  labelled "UK 1990 reference data, reanalysed 2009") is read from the installed package,
  not copied here. Between reference ages L, M and S are interpolated exactly as
  ``rcpchgrowth.global_functions.fetch_lms`` does: Tim Cole's four-point (Lagrange) cubic
  through the two ages below and the two above, linear in the first and last month (4 to
  4 1/12, 19 11/12 to 20), and the tabulated values themselves when the age rounded to 4
  decimal places equals a reference age. ``bmi_sds`` matches
  ``rcpchgrowth.sds_for_measurement(reference="uk-who", measurement_method="bmi", ...)``,
  which uses this same UK90 table from 4 years (below 4, UK-WHO is the WHO 2006 standard,
  which is not UK90, so ages under 4 give NaN here).
- Thresholds: the NCMP's population monitoring categories on the UK90 BMI centiles:
  underweight at or below the 2nd centile, overweight at or above the 85th, obese at or
  above the 95th, severely obese at or above the 99.6th. (Clinical cut-offs, 91st and 98th,
  differ.) |z| > 5 is flagged for review, not excluded.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr, ndtri

DAYS_PER_YEAR = 365.25  # rcpchgrowth's chronological_decimal_age: days / 365.25

UNDERWEIGHT_SDS = float(ndtri(0.02))  # 2nd centile, about -2.054
OVERWEIGHT_SDS = float(ndtri(0.85))  # 85th centile, about 1.036
OBESE_SDS = float(ndtri(0.95))  # 95th centile, about 1.645
SEVERELY_OBESE_SDS = float(ndtri(0.996))  # 99.6th centile, about 2.652
REVIEW_SDS = 5.0  # |z| above this is implausible enough to check the record

# Category codes from `classify`; the classes are exclusive (severely obese is not also
# counted as obese), so NCMP's "obese (including severe)" is codes >= OBESE.
MISSING, UNDERWEIGHT, HEALTHY_WEIGHT, OVERWEIGHT, OBESE, SEVERELY_OBESE = range(6)
CATEGORY_LABELS = {
    MISSING: "missing",
    UNDERWEIGHT: "underweight",
    HEALTHY_WEIGHT: "healthy weight",
    OVERWEIGHT: "overweight",
    OBESE: "obese",
    SEVERELY_OBESE: "severely obese",
}

SEXES = ("male", "female")  # rcpchgrowth's spelling


class _LMS(NamedTuple):
    age: np.ndarray  # decimal years, increasing
    rounded_age: tuple[float, ...]  # Python round(age, 4), as rcpchgrowth compares
    L: np.ndarray
    M: np.ndarray
    S: np.ndarray


@cache
def uk90_bmi_lms() -> dict[str, _LMS]:
    """rcpchgrowth's UK90 BMI LMS table by sex ("male", "female"), read once."""
    # find_spec locates the installed package without importing it (its import pulls in
    # scipy.stats and takes seconds).
    spec = find_spec("rcpchgrowth")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("rcpchgrowth is not installed")
    path = Path(spec.submodule_search_locations[0], "data_tables", "uk90_child.json")
    bmi_rows = json.loads(path.read_text(encoding="utf-8"))["measurement"]["bmi"]
    tables = {}
    for sex in SEXES:
        rows = bmi_rows[sex]
        cols = {k: np.array([row[k] for row in rows], dtype=np.float64) for k in "LMS"}
        age = np.array([row["decimal_age"] for row in rows], dtype=np.float64)
        if not np.all(np.diff(age) > 0):
            raise ValueError(f"{path}: {sex} BMI ages are not increasing")
        for array in (age, *cols.values()):
            array.setflags(write=False)  # shared through the cache
        tables[sex] = _LMS(age, tuple(round(a, 4) for a in age.tolist()), **cols)
    return tables


def decimal_age(date_of_birth: ArrayLike, measured_on: ArrayLike) -> np.ndarray:
    """Age in decimal years: whole days between the dates / 365.25, as rcpchgrowth.

    Accepts anything numpy converts to datetime64[D] (datetime64 arrays, dates, ISO
    strings); times of day are dropped, as rcpchgrowth works on dates. NaT gives NaN.
    """
    born = np.asarray(date_of_birth, dtype="datetime64[D]")
    measured = np.asarray(measured_on, dtype="datetime64[D]")
    days = (measured - born).astype(np.float64)
    return np.where(np.isnat(born) | np.isnat(measured), np.nan, days / DAYS_PER_YEAR)


def bmi(height_cm: ArrayLike, weight_kg: ArrayLike) -> np.ndarray:
    """BMI in kg/m²: weight / (height / 100)². NaN unless both are positive numbers."""
    height_m = np.asarray(height_cm, dtype=np.float64) / 100
    weight = np.asarray(weight_kg, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = weight / height_m**2
    return np.where((height_m > 0) & (weight > 0), value, np.nan)


def _cubic(age, a0, a1, a2, a3, p0, p1, p2, p3):
    # rcpchgrowth.global_functions.cubic_interpolation (Tim Cole's, from LMSgrowth), with
    # its order of operations, through the points (a0, p0) ... (a3, p3).
    tt0, tt1, tt2, tt3 = age - a0, age - a1, age - a2, age - a3
    t01, t02, t03 = a0 - a1, a0 - a2, a0 - a3
    t12, t13, t23 = a1 - a2, a1 - a3, a2 - a3
    return (
        p0 * tt1 * tt2 * tt3 / t01 / t02 / t03
        - p1 * tt0 * tt2 * tt3 / t01 / t12 / t13
        + p2 * tt0 * tt1 * tt3 / t02 / t12 / t23
        - p3 * tt0 * tt1 * tt2 / t03 / t13 / t23
    )


def _lms_at(age: np.ndarray, ref: _LMS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L, M and S at each age (all within the table's range), as rcpchgrowth's fetch_lms."""
    n = ref.age.size
    # nearest_lowest_index: the last reference age strictly below the child's.
    lo = np.clip(np.searchsorted(ref.age, age, side="left") - 1, 0, n - 2)
    # Cubic needs two reference ages each side; in the first and last interval it is linear
    # (np.interp is what rcpchgrowth's scipy interp1d calls for linear interpolation).
    use_cubic = (lo >= 1) & (lo <= n - 3)
    j = np.clip(lo, 1, n - 3)
    a = [ref.age[j + k] for k in (-1, 0, 1, 2)]
    out = []
    for param in (ref.L, ref.M, ref.S):
        cubic = _cubic(age, *a, *(param[j + k] for k in (-1, 0, 1, 2)))
        out.append(np.where(use_cubic, cubic, np.interp(age, ref.age, param)))
    # rcpchgrowth takes the tabulated values when round(age, 4) equals round(reference age,
    # 4). Only ages within 1e-4 of a reference age can qualify; Python's round decides those
    # few, since numpy rounds differently at halfway cases.
    nearest = np.where(age - ref.age[lo] <= ref.age[lo + 1] - age, lo, lo + 1)
    for i in np.flatnonzero(np.abs(age - ref.age[nearest]) < 1e-4):
        k = nearest[i]
        if round(float(age[i]), 4) == ref.rounded_age[k]:
            for value, param in zip(out, (ref.L, ref.M, ref.S), strict=True):
                value[i] = param[k]
    return out[0], out[1], out[2]


def bmi_sds(decimal_age: ArrayLike, sex: ArrayLike, bmi: ArrayLike) -> np.ndarray:
    """UK90 BMI z-score (SDS) for each child; inputs broadcast together.

    ``decimal_age`` in years (see `decimal_age`); ``sex`` as rcpchgrowth spells it, "male" or
    "female" (strings, or an object array holding them); ``bmi`` in kg/m². Missing inputs
    (NaN age or BMI; sex None, NaN or "") and ages outside the table, 4 to 20 years, give
    NaN, as do BMIs that are not positive and finite. Any other sex value raises ValueError,
    so a differently coded column ("M", 1) fails loudly instead of turning into NaN.
    """
    ages, sexes, values = np.broadcast_arrays(
        np.asarray(decimal_age, dtype=np.float64), np.asarray(sex), np.asarray(bmi, np.float64)
    )
    shape = ages.shape
    ages, sexes, values = ages.ravel(), sexes.ravel(), values.ravel()
    known = {s: sexes == s for s in SEXES}
    others = sexes[~(known["male"] | known["female"])].tolist()
    unexpected = {v for v in others if not (v is None or v == "" or v != v)}  # v != v: NaN
    if unexpected:
        raise ValueError(f"sex must be 'male' or 'female' (or missing), not {unexpected!r}")

    out = np.full(ages.shape, np.nan)
    valid = np.isfinite(values) & (values > 0)
    for s, is_sex in known.items():
        ref = uk90_bmi_lms()[s]
        rows = np.flatnonzero(is_sex & valid & (ages >= ref.age[0]) & (ages <= ref.age[-1]))
        L, M, S = _lms_at(ages[rows], ref)
        x = values[rows]
        # rcpchgrowth.global_functions.z_score; L == 0 is the log-normal limit.
        with np.errstate(divide="ignore", invalid="ignore"):
            out[rows] = np.where(L != 0, ((x / M) ** L - 1) / (L * S), np.log(x / M) / S)
    return out.reshape(shape)


def centile(sds: ArrayLike) -> np.ndarray:
    """Centile (0-100) for a z-score: the standard normal CDF × 100, as rcpchgrowth's."""
    return ndtr(np.asarray(sds, dtype=np.float64)) * 100


def classify(sds: ArrayLike) -> np.ndarray:
    """NCMP weight category code (int8, see CATEGORY_LABELS) for each BMI z-score.

    Thresholds are inclusive as in the NCMP (at or above the 85th centile is overweight;
    at or below the 2nd is underweight). NaN gives MISSING.
    """
    z = np.asarray(sds, dtype=np.float64)
    conditions = [
        z >= SEVERELY_OBESE_SDS,
        z >= OBESE_SDS,
        z >= OVERWEIGHT_SDS,
        z > UNDERWEIGHT_SDS,
        z <= UNDERWEIGHT_SDS,
    ]
    codes = [SEVERELY_OBESE, OBESE, OVERWEIGHT, HEALTHY_WEIGHT, UNDERWEIGHT]
    return np.select(conditions, codes, default=MISSING).astype(np.int8)


def needs_review(sds: ArrayLike) -> np.ndarray:
    """True where |z| > REVIEW_SDS: check the record, but keep the child in the counts."""
    return np.abs(np.asarray(sds, dtype=np.float64)) > REVIEW_SDS
