"""mkdeal.growth against rcpchgrowth 4.6.5 called directly (its public API)."""

import numpy as np
import pytest
import rcpchgrowth

from mkdeal import growth

# Same formulas in the same order, so agreement is to rounding error (seen: ~4e-15); 1e-9
# leaves room for libm differences while catching any wrong interpolation or table.
TOLERANCE = 1e-9


def reference_children(n: int = 400, seed: int = 90):
    """Ages 4-12 (from real dates, and arbitrary floats), both sexes, BMI 10-40, plus the
    interpolation's edge cases: the first month (linear), reference ages themselves, ages
    within rcpchgrowth's 4-decimal rounding of a reference age, and the table's top end."""
    rng = np.random.default_rng(seed)
    from_dates = rng.integers(4 * 365, 12 * 365 + 3, n // 2) / growth.DAYS_PER_YEAR
    edges = [4.0, 4 + 1 / 365.25, 4.04, 4 + 1 / 12, 5.0, 5 + 3e-5, 5 - 3e-5, 5 + 6e-5]
    edges += [1948 / 365.25, 10.5, 12.0, 19.95, 20.0]
    ages = np.concatenate([from_dates, rng.uniform(4, 12, n - n // 2), edges])
    sexes = np.where(rng.random(ages.size) < 0.5, "male", "female")
    bmis = rng.uniform(10, 40, ages.size)
    return ages, sexes, bmis


def test_bmi_sds_and_centile_match_rcpchgrowth():
    ages, sexes, bmis = reference_children()
    expected = np.array(
        [
            float(
                rcpchgrowth.sds_for_measurement(
                    reference="uk-who",
                    age=float(age),
                    measurement_method="bmi",
                    observation_value=float(value),
                    sex=str(sex),
                )
            )
            for age, sex, value in zip(ages, sexes, bmis, strict=True)
        ]
    )
    sds = growth.bmi_sds(ages, sexes, bmis)
    assert np.max(np.abs(sds - expected)) < TOLERANCE
    centiles = np.array([float(rcpchgrowth.centile(z)) for z in expected])
    assert np.max(np.abs(growth.centile(sds) - centiles)) < TOLERANCE


def test_decimal_age_matches_rcpchgrowth():
    rng = np.random.default_rng(4)
    born = np.datetime64("2008-01-01") + rng.integers(0, 4000, 300)
    measured = born + rng.integers(4 * 365, 12 * 365, 300)
    expected = [
        rcpchgrowth.chronological_decimal_age(b.item(), m.item())
        for b, m in zip(born, measured, strict=True)
    ]
    assert np.max(np.abs(growth.decimal_age(born, measured) - expected)) < 1e-12


def test_decimal_age_drops_times_and_maps_nat_to_nan():
    born = np.array(["2015-03-01T23:00", "NaT"], dtype="datetime64[ns]")
    measured = np.array(["2020-03-01T01:00", "2020-03-01"], dtype="datetime64[ns]")
    age = growth.decimal_age(born, measured)
    assert age[0] == 1827 / 365.25
    assert np.isnan(age[1])


def test_bmi_matches_rcpchgrowth_and_rejects_non_positive():
    assert growth.bmi(112.3, 19.8) == pytest.approx(
        rcpchgrowth.bmi_from_height_weight(112.3, 19.8), abs=1e-12
    )
    assert np.isnan(growth.bmi([0.0, 120.0, np.nan], [20.0, -1.0, 20.0])).all()


def test_nan_outside_the_age_range_and_for_missing_inputs():
    sds = growth.bmi_sds(
        [3.99, 20.01, np.nan, 5.0, 5.0, 5.0, 5.0],
        np.array(["male", "female", "male", None, np.nan, "", "female"], dtype=object),
        [16.0, 16.0, 16.0, 16.0, 16.0, 16.0, np.nan],
    )
    assert np.isnan(sds).all()
    assert np.isfinite(growth.bmi_sds([4.0, 20.0], "female", 16.0)).all()


def test_other_sex_codes_raise():
    with pytest.raises(ValueError, match="'M'"):
        growth.bmi_sds(5.0, np.array(["male", "M"]), 16.0)


def test_thresholds_are_inclusive_at_the_85th_centile():
    assert growth.centile(growth.OVERWEIGHT_SDS) == pytest.approx(85.0, abs=1e-12)
    assert growth.classify(growth.OVERWEIGHT_SDS) == growth.OVERWEIGHT
    assert growth.classify(growth.OVERWEIGHT_SDS - 1e-9) == growth.HEALTHY_WEIGHT


def test_classify_and_review():
    sds = np.array([np.nan, -6.0, -2.1, 0.0, 1.2, 2.0, 2.7, 5.5])
    assert growth.classify(sds).tolist() == [
        growth.MISSING,
        growth.UNDERWEIGHT,
        growth.UNDERWEIGHT,
        growth.HEALTHY_WEIGHT,
        growth.OVERWEIGHT,
        growth.OBESE,
        growth.SEVERELY_OBESE,
        growth.SEVERELY_OBESE,
    ]
    assert growth.needs_review(sds).tolist() == [False, True] + [False] * 5 + [True]
