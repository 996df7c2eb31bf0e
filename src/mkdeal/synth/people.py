"""Residents and area deprivation of the synthetic Milton Keynes, as contract files."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from mkdeal.synth.population import World
from mkdeal.synth.text import dates_text, months_text

MILTON_KEYNES = "E06000042"  # the ONS code of the Milton Keynes unitary authority


def residents(world: World, rng: np.random.Generator, scale: float) -> pa.Table:
    """Everyone in the synthetic Milton Keynes; a few without an area or a practice."""
    size = world.size
    known_area = rng.random(size) > 0.01  # some addresses have no valid postcode
    return pa.table(
        {
            "nhs_number": world.nhs_numbers,
            "birth_month": months_text(world.birth_dates),
            "sex": world.sexes,
            "ethnic_category": np.where(rng.random(size) < 0.06, None, world.ethnic_categories),
            "ethnic_group_2021": pa.nulls(size, pa.string()),
            "lsoa_2021": np.where(known_area, world.lsoa_codes[world.lsoa_index], None),
            "gp_practice_code": world.practice_codes[world.practice_index],
            "pcn_code": world.practice_pcns[world.practice_index],
            "date_of_death": dates_text(world.death_dates),
        }
    )


def area_deprivation(world: World, rng: np.random.Generator, scale: float) -> pa.Table:
    """A synthetic deprivation file: deciles as the world has them, ranks and scores to fit.

    Ranks run over England's 33,755 LSOAs (IoD2025), placed within each decile's band, and
    scores fall as ranks rise, so every column agrees with the decile.
    """
    count = len(world.lsoa_codes)
    band = 33_755 / 10
    rank = ((world.lsoa_deciles - 1) * band + 1 + rng.random(count) * (band - 1)).astype(int)
    score = np.round(70 * np.exp(-rank / 9000) + rng.random(count), 1)
    return pa.table(
        {
            "lsoa_2021": world.lsoa_codes,
            "imd_version": np.full(count, "synthetic"),
            "local_authority_code": np.full(count, MILTON_KEYNES),
            "imd_decile": world.lsoa_deciles.astype(str),
            "imd_rank": rank.astype(str),
            "imd_score": score.astype(str),
            "lsoa_2011": pa.nulls(count, pa.string()),
            "lsoa_change_indicator": pa.nulls(count, pa.string()),
        }
    )
