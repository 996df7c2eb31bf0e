"""The synthetic Milton Keynes: its areas, practices and residents.

Everything here is invented and marked so: NHS numbers come from the 999 test range only;
LSOA codes are in the real format but from E01900001 up, a range no real area uses; GP
practices are Z90001 up and PCNs U99001 up (no such ODS codes exist); deprivation is
`imd_version` "synthetic". Shapes follow published Milton Keynes figures, each named where
it is used. Arrays are numpy, so a million people cost seconds, not minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

# Census 2021: 287,100 usual residents in Milton Keynes (ONS, Census 2021 first results,
# 28 June 2022). A Milton Keynes figure.
RESIDENTS = 287_100
CENSUS_DAY = np.datetime64("2021-03-21", "D")
BIRTHS_A_YEAR = 3_800
# Census 2021, Milton Keynes: 49.3% male, 50.7% female (same release).
SHARE_MALE = 0.493
# Milton Keynes had 175 LSOAs (2021); an approximation, not read from the ONS lookup.
AREAS = 175
PRACTICES = 26  # Milton Keynes has about 26 GP practices in 8 PCNs (local knowledge).
PCNS = 8

# Five-year age bands 0-4 ... 85-89, 90-99, shaped so that under-10s are 13.2% and 65 and
# over 13.8%, as Census 2021 found for Milton Keynes (same release); the bands between
# are an approximation of its pyramid, not published figures.
AGE_BANDS = [
    (0, 4, 6.7), (5, 9, 6.5), (10, 14, 6.8), (15, 19, 5.9), (20, 24, 5.3), (25, 29, 6.5),
    (30, 34, 7.5), (35, 39, 7.6), (40, 44, 7.0), (45, 49, 6.6), (50, 54, 6.6), (55, 59, 6.2),
    (60, 64, 5.0), (65, 69, 4.1), (70, 74, 3.9), (75, 79, 2.8), (80, 84, 1.7), (85, 89, 0.9),
    (90, 99, 0.4),
]  # fmt: skip

# Census 2021, Milton Keynes, ethnic group (ONS custom dataset via Vision of Britain):
# White 206,159, Asian 35,625, Black 27,831, other (mixed and other) 17,472 of 287,087.
# Within groups the split by NHS ETHNIC CATEGORY code is an approximation.
ETHNIC_CATEGORIES = {
    "A": 0.600, "B": 0.007, "C": 0.111,  # White: British, Irish, any other
    "D": 0.010, "E": 0.008, "F": 0.012, "G": 0.010,  # Mixed
    "H": 0.045, "J": 0.028, "K": 0.015, "L": 0.024,  # Asian: Indian, Pakistani, Bangladeshi, other
    "M": 0.012, "N": 0.075, "P": 0.010,  # Black: Caribbean, African, other
    "R": 0.012, "S": 0.021,  # Chinese, any other
}  # fmt: skip

# How Milton Keynes' areas spread across national deprivation deciles: an approximation
# (more areas in the middle deciles, some in the most deprived), not the published IMD.
DECILE_SHARES = [0.06, 0.08, 0.09, 0.10, 0.11, 0.12, 0.12, 0.12, 0.11, 0.09]


@dataclass(frozen=True)
class World:
    """The synthetic Milton Keynes that every dataset generator draws from."""

    start: date
    end: date
    # Areas
    lsoa_codes: np.ndarray  # str
    lsoa_deciles: np.ndarray  # 1 (most deprived) .. 10
    # Practices
    practice_codes: np.ndarray
    practice_pcns: np.ndarray
    # Residents (one row each)
    nhs_numbers: np.ndarray  # str, 10 digits, 999 range
    birth_dates: np.ndarray  # datetime64[D]
    sexes: np.ndarray  # "1" male, "2" female
    ethnic_categories: np.ndarray
    lsoa_index: np.ndarray  # index into lsoa_codes
    practice_index: np.ndarray
    death_dates: np.ndarray  # datetime64[D], NaT when alive at `end`

    @property
    def size(self) -> int:
        return len(self.nhs_numbers)

    def deciles(self) -> np.ndarray:
        return self.lsoa_deciles[self.lsoa_index]

    def ages_on(self, day: np.datetime64 | np.ndarray) -> np.ndarray:
        """Whole years of age on `day` (an array of days, or one day for everyone)."""
        return ((np.asarray(day, "datetime64[D]") - self.birth_dates).astype(int) / 365.25).astype(
            int
        )


def build_world(rng: np.random.Generator, start: date, end: date, scale: float = 1.0) -> World:
    from mkdeal.datasets.shaped import TEST_RANGE_SIZE, test_range_nhs_numbers

    people = min(round(RESIDENTS * scale), TEST_RANGE_SIZE)
    deciles = rng.choice(np.arange(1, 11), size=AREAS, p=DECILE_SHARES)
    lsoa_codes = np.array([f"E0190{i:04d}" for i in range(1, AREAS + 1)])
    practice_codes = np.array([f"Z9{i:04d}" for i in range(1, PRACTICES + 1)])
    practice_pcns = np.array([f"U99{1 + i % PCNS:03d}" for i in range(PRACTICES)])

    bands = np.array([weight for _, _, weight in AGE_BANDS])
    band = rng.choice(len(AGE_BANDS), size=people, p=bands / bands.sum())
    low = np.array([b[0] for b in AGE_BANDS])[band]
    high = np.array([b[1] for b in AGE_BANDS])[band]
    age_days = ((low + rng.random(people) * (high - low + 1)) * 365.25).astype(int)
    # Ages are as at Census day 2021, which the age shape comes from. Babies born after it
    # join at about 3,800 a year (Milton Keynes births, ONS, about 2021; an approximation),
    # so that the youngest school years are filled to the end of the period. Nobody moves.
    birth_dates = CENSUS_DAY - age_days.astype("timedelta64[D]")
    after = max(0, int((np.datetime64(end, "D") - CENSUS_DAY).astype(int)))
    babies = min(round(BIRTHS_A_YEAR * scale * after / 365.25), TEST_RANGE_SIZE - people)
    if babies > 0:
        born = CENSUS_DAY + rng.integers(1, after + 1, size=babies).astype("timedelta64[D]")
        birth_dates = np.concatenate([birth_dates, born])
        age_days = np.concatenate([age_days, np.zeros(babies, dtype=age_days.dtype)])
        people += babies

    codes = np.array(list(ETHNIC_CATEGORIES))
    weights = np.array(list(ETHNIC_CATEGORIES.values()))
    # Areas differ a little in size; people are placed in proportion to a random weight.
    area_weights = rng.gamma(8.0, size=AREAS)
    practice_of_area = rng.integers(0, PRACTICES, size=AREAS)
    lsoa_index = rng.choice(AREAS, size=people, p=area_weights / area_weights.sum())
    # Most people use a practice near home; one in five another one.
    practice_index = np.where(
        rng.random(people) < 0.8, practice_of_area[lsoa_index], rng.integers(0, PRACTICES, people)
    )
    # Deaths: Gompertz, doubling every 7.7 years of age, about 2% a year at 70, 6% at 82 and
    # 17% at 94 (shaped like England's life tables; an approximation), about 1% overall.
    years = (np.datetime64(end) - np.datetime64(start)).astype(int) / 365.25
    age_years = age_days / 365.25
    yearly = np.clip(0.000037 * np.exp(0.09 * age_years), 0, 0.5)
    dies = rng.random(people) < 1 - (1 - yearly) ** years
    offset = (rng.random(people) * years * 365.25).astype(int)
    death_dates = np.where(
        dies, np.datetime64(start, "D") + offset.astype("timedelta64[D]"), np.datetime64("NaT")
    ).astype("datetime64[D]")
    death_dates = np.where(death_dates < birth_dates, np.datetime64("NaT"), death_dates)
    return World(
        start=start,
        end=end,
        lsoa_codes=lsoa_codes,
        lsoa_deciles=deciles,
        practice_codes=practice_codes,
        practice_pcns=practice_pcns,
        nhs_numbers=test_range_nhs_numbers(people, rng),
        birth_dates=birth_dates,
        sexes=np.where(rng.random(people) < SHARE_MALE, "1", "2"),
        ethnic_categories=rng.choice(codes, size=people, p=weights / weights.sum()),
        lsoa_index=lsoa_index,
        practice_index=practice_index,
        death_dates=death_dates,
    )
