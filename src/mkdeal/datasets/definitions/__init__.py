"""One contract per record-level source: a module each, collected here in a fixed order.

Each module defines one `Dataset`; `ALL_DATASETS` collects them. Use
`mkdeal.datasets.DATASETS` or `get_dataset(name)` rather than importing modules one by one.
"""

from __future__ import annotations

from mkdeal.datasets.definitions.acute_spells import ACUTE_SPELLS
from mkdeal.datasets.definitions.adult_bmi import ADULT_BMI
from mkdeal.datasets.definitions.ambulance_arrivals import AMBULANCE_ARRIVALS
from mkdeal.datasets.definitions.area_deprivation import AREA_DEPRIVATION
from mkdeal.datasets.definitions.asc_events import ASC_EVENTS
from mkdeal.datasets.definitions.child_measurements import CHILD_MEASUREMENTS
from mkdeal.datasets.definitions.discharge_readiness import DISCHARGE_READINESS
from mkdeal.datasets.definitions.reablement_follow_up import REABLEMENT_FOLLOW_UP
from mkdeal.datasets.definitions.residents import RESIDENTS
from mkdeal.datasets.definitions.rtt_pathways import RTT_PATHWAYS
from mkdeal.datasets.definitions.ucr_referrals import UCR_REFERRALS

# Reference datasets first, then system flow, then obesity.
ALL_DATASETS = (
    RESIDENTS,
    AREA_DEPRIVATION,
    ACUTE_SPELLS,
    DISCHARGE_READINESS,
    AMBULANCE_ARRIVALS,
    RTT_PATHWAYS,
    UCR_REFERRALS,
    REABLEMENT_FOLLOW_UP,
    ASC_EVENTS,
    CHILD_MEASUREMENTS,
    ADULT_BMI,
)

__all__ = [
    "ACUTE_SPELLS",
    "ADULT_BMI",
    "ALL_DATASETS",
    "AMBULANCE_ARRIVALS",
    "AREA_DEPRIVATION",
    "ASC_EVENTS",
    "CHILD_MEASUREMENTS",
    "DISCHARGE_READINESS",
    "REABLEMENT_FOLLOW_UP",
    "RESIDENTS",
    "RTT_PATHWAYS",
    "UCR_REFERRALS",
]
