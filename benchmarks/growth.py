"""Time UK90 BMI z-scores for a national NCMP year, against rcpchgrowth per call.

- `mkdeal.growth` on 1,100,000 synthetic children (half Reception, half Year 6): decimal
  age from dates, BMI, SDS, centile and category (target: well under a minute);
- `rcpchgrowth.sds_for_measurement` on a few thousand of the same children, one call each,
  extrapolated to the national year.

Run: .venv/bin/python benchmarks/growth.py
"""

import time

import numpy as np

from mkdeal import growth

CHILDREN, RCPCH_CALLS = 1_100_000, 3_000


def timed(label: str, work):
    start = time.perf_counter()
    result = work()
    print(f"{label}: {time.perf_counter() - start:.3f} s")
    return result


def synthetic_children(rng: np.random.Generator):
    half = CHILDREN // 2
    # Born in the school year's cohort (Sept-Aug); measured during the 2024/25 school year.
    reception = np.datetime64("2019-09-01") + rng.integers(0, 365, half)
    year_6 = np.datetime64("2013-09-01") + rng.integers(0, 365, CHILDREN - half)
    born = np.concatenate([reception, year_6])
    measured = np.datetime64("2024-09-15") + rng.integers(0, 280, CHILDREN)
    older = np.arange(CHILDREN) >= half
    height = np.where(older, rng.normal(145, 7, CHILDREN), rng.normal(110, 5, CHILDREN))
    bmi = np.where(
        older, rng.lognormal(np.log(18), 0.18, CHILDREN), rng.lognormal(2.77, 0.1, CHILDREN)
    )
    weight = bmi * (height / 100) ** 2
    # Object dtype, as a pandas column of strings arrives; a few missing.
    sex = np.where(rng.random(CHILDREN) < 0.51, "male", "female").astype(object)
    sex[rng.random(CHILDREN) < 0.001] = None
    weight[rng.random(CHILDREN) < 0.001] = np.nan
    return born, measured, sex, height, weight


def main() -> None:
    rng = np.random.default_rng(2025)
    born, measured, sex, height, weight = synthetic_children(rng)

    start = time.perf_counter()
    age = timed("decimal_age", lambda: growth.decimal_age(born, measured))
    bmi = timed("bmi", lambda: growth.bmi(height, weight))
    sds = timed("bmi_sds (first call reads the UK90 table)", lambda: growth.bmi_sds(age, sex, bmi))
    centile = timed("centile", lambda: growth.centile(sds))
    category = timed("classify", lambda: growth.classify(sds))
    total = time.perf_counter() - start
    print(f"mkdeal.growth, {CHILDREN:,} children, all steps: {total:.3f} s")
    counts = np.bincount(category, minlength=len(growth.CATEGORY_LABELS)) / CHILDREN
    print("  " + ", ".join(f"{growth.CATEGORY_LABELS[c]} {p:.1%}" for c, p in enumerate(counts)))
    print(f"  median centile {np.nanmedian(centile):.1f}; review {growth.needs_review(sds).sum()}")

    import rcpchgrowth  # imported here: it takes seconds (scipy.stats)

    sample = np.flatnonzero(np.isfinite(sds))[:RCPCH_CALLS]
    start = time.perf_counter()
    for i in sample:
        rcpchgrowth.sds_for_measurement(
            reference="uk-who",
            age=float(age[i]),
            measurement_method="bmi",
            observation_value=float(bmi[i]),
            sex=sex[i],
        )
    per_call = (time.perf_counter() - start) / sample.size
    print(
        f"rcpchgrowth.sds_for_measurement: {per_call * 1e6:.0f} µs per call "
        f"({sample.size:,} calls); {CHILDREN:,} children would take {per_call * CHILDREN:.0f} s"
    )


if __name__ == "__main__":
    main()
