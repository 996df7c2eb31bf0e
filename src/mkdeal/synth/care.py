"""Adult social care in the synthetic Milton Keynes, as Milton Keynes City Council would send it.

`reablement_follow_up` is older people discharged from hospital into reablement, with where
they were 91 days later (ASCOF 2B(1)); `asc_events` is client level data: requests,
assessments, services and reviews. Everyone is a resident of the world, alive on the date
an event starts; people who die in the world die in these files too.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from mkdeal.datasets import DATASETS
from mkdeal.synth.population import World
from mkdeal.synth.targets import Target
from mkdeal.synth.text import dates_text, ids_text, months_text

TARGETS: list[Target] = [
    Target(
        "Older people at home 91 days after discharge into reablement (ASCOF 2B(1))",
        82.0,
        3.0,
        "%",
        "England",
        "NHS Digital, Adult Social Care Outcomes Framework, measure 2B(1): about 82% each "
        "year from 2011/12 to 2019/20 (82.9% in 2017/18; Nuffield Trust QualityWatch)",
    ),
    Target(
        "Discharges into reablement a year, people 65 and over",
        400,
        60,
        "rows a year",
        "Milton Keynes",
        "Assumption: about 3% of older people discharged are offered reablement (ASCOF 2B(2), "
        "England) and Milton Keynes residents aged 65+ have about 13,000 discharges a year",
    ),
    Target(
        "Adult social care events a year",
        19_000,
        2_500,
        "rows a year",
        "Milton Keynes",
        "Assumption: England's client level data rates per adult (about 2 million requests "
        "from new clients a year for 45 million adults) applied to Milton Keynes' ~225,000 "
        "adults, with assessments, services and reviews in proportion",
    ),
]

DAY = np.timedelta64(1, "D")
FOLLOW_UP_DAYS = 91

# --- Reablement -------------------------------------------------------------------------

# About 400 discharges of people 65 and over into reablement a year (the volume target's
# assumption), a little busier in winter.
REABLEMENT_A_YEAR = 400
WINTER_SWING = 0.15
# Older people are more likely to need reablement: weights per person by age band (an
# assumption).
REABLEMENT_AGE_WEIGHTS = [(65, 1.0), (75, 2.5), (85, 5.0)]
SETTINGS = {
    "home": 0.90,
    "extra_care_housing": 0.03,
    "adult_placement": 0.01,
    "residential_or_nursing_rehabilitation": 0.06,
}
FUNDING = {"council_supported": 0.92, "self_funded": 0.08}
# Status 91 days after discharge. ASCOF 2B(1) (England, before 2020) was about 82% at home,
# in extra care housing or in an adult placement: here 8% die within the 91 days (people
# who die in the world soon after a discharge) and of the 92% alive the shares below give
# 0.92 * (0.835 + 0.030 + 0.026) = 82.0% at home. The other shares are assumptions.
DIED_SHARE = 0.08
ALIVE_STATUS = {
    "at_home": 0.835,
    "extra_care_housing": 0.030,
    "adult_placement": 0.026,
    "residential_or_nursing_care": 0.050,
    "in_hospital": 0.035,
    "unknown": 0.024,
}
# About three in four episodes carry the acute spell's id. The ids are synthetic, from
# SP90000001 up: this generator cannot see acute_spells, so they do not link to it.
SPELL_KNOWN = 0.75


def _age_weight(ages: np.ndarray, bands: list[tuple[int, float]]) -> np.ndarray:
    weight = np.zeros(len(ages))
    for lowest, relative in bands:
        weight = np.where(ages >= lowest, relative, weight)
    return weight


def _empty(name: str) -> pa.Table:
    """A table with the contract's columns and no rows (ids_text cannot number none)."""
    return pa.table({c.name: pa.array([], pa.string()) for c in DATASETS[name].columns})


def _years(world: World) -> list[tuple[np.datetime64, np.datetime64]]:
    """The period cut into financial years (April to March), the first and last partial."""
    start, end = np.datetime64(world.start, "D"), np.datetime64(world.end, "D")
    first = world.start.year if world.start.month >= 4 else world.start.year - 1
    spans = []
    for year in range(first, world.end.year + 1):
        low = max(np.datetime64(f"{year}-04-01", "D"), start)
        high = min(np.datetime64(f"{year + 1}-03-31", "D"), end)
        if low <= high:
            spans.append((low, high))
    return spans


def _day_between(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A uniform day in [low, high] for each pair (high >= low)."""
    width = (high - low).astype(int) + 1
    return low + (rng.random(len(low)) * width).astype(int) * DAY


def _weighted_sample(
    rng: np.random.Generator, pool: np.ndarray, weight: np.ndarray, count: int
) -> np.ndarray:
    """Up to `count` distinct members of `pool`, drawn with probability in proportion to
    `weight`; empty when the pool is."""
    if len(pool) == 0 or count <= 0:
        return pool[:0]
    return rng.choice(pool, size=min(count, len(pool)), replace=False, p=weight / weight.sum())


def _season(days: np.ndarray) -> np.ndarray:
    """Relative busyness of each day: WINTER_SWING above average in mid-January."""
    day_of_year = (days - days.astype("datetime64[Y]")).astype(int)
    return 1 + WINTER_SWING * np.cos(2 * np.pi * (day_of_year - 15) / 365.25)


def reablement_follow_up(world: World, rng: np.random.Generator, scale: float) -> pa.Table:
    """Discharges of people 65 and over into reablement, with their 91-day status."""
    end = np.datetime64(world.end, "D")
    sixty_five = world.birth_dates + np.timedelta64(round(65 * 365.25) + 1, "D")
    death = world.death_dates
    # Those who died within 91 days: people who die in the world, discharged 3 to 88 days
    # before their death, aged 65 or more then.
    gap = rng.integers(3, FOLLOW_UP_DAYS - 2, size=world.size).astype("timedelta64[D]")
    died_discharge = death - gap
    can_die = ~np.isnat(death) & (died_discharge >= sixty_five)
    # The others are alive 91 days after their discharge (or at the end of the period).
    last_alive = np.where(np.isnat(death), end, death - (FOLLOW_UP_DAYS + 1) * DAY)

    died_parts, alive_parts, alive_days = [], [], []
    # Year by year, so that volumes stay level however the world's population changes.
    for low, high in _years(world):
        share = ((high - low).astype(int) + 1) / 365.25
        weight = _age_weight(world.ages_on(low + (high - low) // 2), REABLEMENT_AGE_WEIGHTS)
        total = rng.poisson(REABLEMENT_A_YEAR * scale * share)
        died_count = rng.binomial(total, DIED_SHARE)
        pool = np.flatnonzero(can_die & (died_discharge >= low) & (died_discharge <= high))
        died_parts.append(_weighted_sample(rng, pool, weight[pool] + 1e-12, died_count))
        wanted = total - len(died_parts[-1])
        first = np.maximum(low, sixty_five)
        last = np.minimum(high, last_alive)
        eligible = np.flatnonzero((first <= last) & (weight > 0))
        candidates = _weighted_sample(rng, eligible, weight[eligible], wanted * 2)
        discharged = _day_between(rng, first[candidates], last[candidates])
        # A little busier in winter: thin the candidates by season.
        accepted = rng.random(len(candidates)) < _season(discharged) / (1 + WINTER_SWING)
        alive_parts.append(candidates[accepted][:wanted])
        alive_days.append(discharged[accepted][:wanted])
    died = np.concatenate(died_parts)
    alive = np.concatenate(alive_parts)
    alive_discharge = np.concatenate(alive_days)

    person = np.concatenate([died, alive])
    discharge = np.concatenate([died_discharge[died], alive_discharge])
    count = len(person)
    if count == 0:
        return _empty("reablement_follow_up")
    status = np.concatenate(
        [
            np.full(len(died), "died"),
            rng.choice(list(ALIVE_STATUS), size=len(alive), p=list(ALIVE_STATUS.values())),
        ]
    )
    follow_up = discharge + FOLLOW_UP_DAYS
    # Status found at the 91-day contact, usually within a fortnight; a death is recorded
    # when the council hears of it. Neither after the end of the period.
    recorded = np.where(
        status == "died",
        np.minimum(death[person] + rng.integers(0, 11, count).astype("timedelta64[D]"), end),
        np.minimum(follow_up + rng.geometric(0.15, count).astype("timedelta64[D]") - DAY, end),
    )
    # Discharges whose 91st day falls after the end of the period are not followed up yet.
    pending = follow_up > end
    status = np.where(pending, None, status)
    recorded = np.where(pending, np.datetime64("NaT"), recorded).astype("datetime64[D]")
    delay = rng.choice([0, 1, 2, 3, 5, 7], size=count, p=[0.55, 0.25, 0.1, 0.04, 0.03, 0.03])
    started = discharge + delay * DAY
    started = np.where(
        (rng.random(count) < 0.05) | (started > end), np.datetime64("NaT"), started
    ).astype("datetime64[D]")
    spell = np.where(
        rng.random(count) < SPELL_KNOWN,
        ids_text("SP", count, start=90_000_001)[rng.permutation(count)],
        None,
    )
    setting = rng.choice(list(SETTINGS), size=count, p=list(SETTINGS.values()))
    funding = rng.choice(list(FUNDING), size=count, p=list(FUNDING.values()))

    order = np.lexsort((rng.random(count), discharge))
    return pa.table(
        {
            "episode_id": pa.array(ids_text("REA", count), pa.string()),
            "nhs_number": pa.array(world.nhs_numbers[person][order], pa.string()),
            "birth_month": months_text(world.birth_dates[person][order]),
            "spell_id": pa.array(spell[order], pa.string()),
            "hospital_discharged_on": dates_text(discharge[order]),
            "reablement_setting": pa.array(setting[order], pa.string()),
            "reablement_funding": pa.array(funding[order], pa.string()),
            "reablement_started_on": dates_text(started[order]),
            "status_91_days": pa.array(status[order], pa.string()),
            "status_recorded_on": dates_text(recorded[order]),
        }
    )


# --- Adult social care events -----------------------------------------------------------

# Requests for support a year at scale 1: about 9,000 (England's client level data and
# SALT: about 2 million requests from new clients a year for 45 million adults, applied to
# Milton Keynes' ~225,000 adults and rounded down; an assumption). Requests come far more
# often from older people (weights per person by age band, an assumption).
REQUESTS_A_YEAR = 9_000
REQUEST_AGE_WEIGHTS = [(18, 1.0), (65, 6.0), (75, 14.0), (85, 30.0)]
# What a request leads to (client level data's request outcomes, in its wording; shares
# are assumptions). The first three start further events.
REQUEST_OUTCOMES = {
    "Progress to Assessment": 0.45,
    "Progress to Reablement/ST-Max": 0.12,
    "Progress to Support Planning/Services": 0.08,
    "Universal Services/Signposted to other services": 0.22,
    "No Services Provided - Other Reason": 0.08,
    "NFA - Information & Advice / Signposting only": 0.05,
}
# What an assessment leads to; the long-term outcomes start a long-term service.
ASSESSMENT_OUTCOMES = {
    "Long Term Support: Community": 0.34,
    "Long Term Support: Residential Care": 0.04,
    "Long Term Support: Nursing Care": 0.025,
    "Long Term Support: Prison": 0.002,
    "Short Term Support: ST-Max": 0.06,
    "No services provided - needs not eligible": 0.22,
    "Universal Services/Signposted to other services": 0.17,
    "Provision of equipment or minor adaptations": 0.133,
}
OUTCOME_SERVICE = {
    "Progress to Reablement/ST-Max": "short_term_support_max_independence",
    "Short Term Support: ST-Max": "short_term_support_max_independence",
    "Long Term Support: Community": "long_term_community",
    "Long Term Support: Residential Care": "long_term_residential",
    "Long Term Support: Nursing Care": "long_term_nursing",
    "Long Term Support: Prison": "long_term_prison",
}
# Requests going straight to support planning start one of these short services.
PLANNED_SERVICES = {"short_term_support_other": 0.6, "short_term_support_ongoing_low_level": 0.4}
# How long services last, in days (mean of an exponential; assumptions): short-term
# support weeks, long-term support years (residential care about two years, nursing about
# one). Services still running at the end of the period have no end date.
SERVICE_DAYS = {
    "short_term_support_max_independence": 25,
    "short_term_support_other": 35,
    "short_term_support_ongoing_low_level": 120,
    "long_term_community": 700,
    "long_term_residential": 730,
    "long_term_nursing": 400,
    "long_term_prison": 300,
}
SERVICE_MINIMUM_DAYS = {"short_term_support_max_independence": 5}
# The setting of a person's support before a new residential or nursing placement (ASCOF
# 2A counts admissions from the community); shares are assumptions.
SETTING_BEFORE = {
    "long_term_residential": {"community": 0.94, "residential_care": 0.03, "nursing_care": 0.03},
    "long_term_nursing": {"community": 0.78, "residential_care": 0.20, "nursing_care": 0.02},
}
SERVICE_END_OUTCOMES = {
    "short_term_support_max_independence": {
        "Services ended as planned": 0.55,
        "Long Term Support: Community": 0.25,
        "Admitted to hospital": 0.12,
        "Services ended - other reason": 0.08,
    },
    "other": {
        "Services ended as planned": 0.55,
        "Services ended - moved to another setting": 0.20,
        "Services ended - other reason": 0.25,
    },
}
# Long-term clients are reviewed six to eight weeks after their service starts and then
# about once a year; about 2,500 people already had long-term support when the period
# began (an approximation of Milton Keynes' long-term caseload) and are reviewed too.
EXISTING_CLIENTS = 2_500
EXISTING_SUPPORT_DAYS = 900  # mean remaining length of their support (an assumption)
REVIEWED_A_YEAR = 0.8  # the share of yearly reviews that take place
REVIEW_OUTCOMES = {
    "No change in package of support": 0.55,
    "Change in package - increase": 0.2,
    "Change in package - decrease": 0.08,
    "Move to residential or nursing care": 0.04,
    "Support ended - other reason": 0.03,
    None: 0.10,
}


def _choose(rng: np.random.Generator, options: dict, count: int) -> np.ndarray:
    keys = list(options)
    return np.array(keys, dtype=object)[
        rng.choice(
            len(keys), size=count, p=np.array(list(options.values())) / sum(options.values())
        )
    ]


def _exponential_days(rng: np.random.Generator, mean: np.ndarray) -> np.ndarray:
    return np.ceil(rng.exponential(1.0, len(mean)) * mean).astype(int).astype("timedelta64[D]")


def asc_events(world: World, rng: np.random.Generator, scale: float) -> pa.Table:
    """Requests, assessments, services and reviews of Milton Keynes' adults."""
    start, end = np.datetime64(world.start, "D"), np.datetime64(world.end, "D")
    nat = np.datetime64("NaT", "D")
    death = np.where(np.isnat(world.death_dates), end + 3650 * DAY, world.death_dates)
    adult = world.birth_dates + np.timedelta64(round(18 * 365.25) + 1, "D")
    years = ((end - start).astype(int) + 1) / 365.25
    events: list[dict[str, np.ndarray]] = []

    def add(person, kind, service, outcome, setting, began, ended) -> None:
        count = len(person)
        events.append(
            {
                "person": person,
                "type": np.full(count, kind, dtype=object),
                "service": service if service is not None else np.full(count, None, dtype=object),
                "outcome": np.asarray(outcome, dtype=object),
                "setting": setting if setting is not None else np.full(count, None, dtype=object),
                "start": began,
                # An end after the end of the period is not known yet.
                "end": np.where(ended > end, nat, ended).astype("datetime64[D]"),
            }
        )

    # Requests, year by year so that volumes stay level however the world's population
    # changes: people weighted by age in the middle of the year, on a day they are an adult
    # and alive; decided within a fortnight, often the same day.
    people, days = [], []
    for low, high in _years(world):
        share = ((high - low).astype(int) + 1) / 365.25
        weight = _age_weight(world.ages_on(low + (high - low) // 2), REQUEST_AGE_WEIGHTS)
        first = np.maximum(low, adult)
        last = np.minimum(high, death - DAY)
        weight = np.where(first <= last, weight, 0.0)
        chosen = rng.choice(
            world.size, size=rng.poisson(REQUESTS_A_YEAR * scale * share), p=weight / weight.sum()
        )
        people.append(chosen)
        days.append(_day_between(rng, first[chosen], last[chosen]))
    person = np.concatenate(people)
    began = np.concatenate(days)
    count = len(person)
    ended = began + np.where(rng.random(count) < 0.6, 0, rng.integers(1, 15, count)) * DAY
    ended = np.minimum(ended, death[person])
    outcome = _choose(rng, REQUEST_OUTCOMES, count)
    written = np.where(rng.random(count) < 0.05, None, outcome)  # some outcomes left blank
    add(person, "request", None, written, None, began, ended)

    # Assessments follow requests that progress to one, within a fortnight of the decision,
    # and take two to six weeks.
    follows = (outcome == "Progress to Assessment") & (ended <= end)
    a_person = person[follows]
    a_began = ended[follows] + rng.integers(0, 15, follows.sum()) * DAY
    a_ended = a_began + rng.integers(7, 43, follows.sum()) * DAY
    alive = a_began < death[a_person]
    a_person, a_began = a_person[alive], a_began[alive]
    a_ended = np.minimum(a_ended[alive], death[a_person])
    a_outcome = _choose(rng, ASSESSMENT_OUTCOMES, len(a_person))
    add(a_person, "assessment", None, a_outcome, None, a_began, a_ended)

    # Services: from requests (ST-Max or planned short-term support) and from assessments.
    planned = (outcome == "Progress to Support Planning/Services") & (ended <= end)
    s_person = np.concatenate([person, person[planned], a_person])
    s_from = np.concatenate([ended, ended[planned], a_ended])
    s_type = np.concatenate(
        [
            np.array([OUTCOME_SERVICE.get(o) for o in outcome], dtype=object),
            _choose(rng, PLANNED_SERVICES, planned.sum()),
            np.array([OUTCOME_SERVICE.get(o) for o in a_outcome], dtype=object),
        ]
    )
    keep = s_type != None  # noqa: E711 (element-wise)
    s_person, s_from, s_type = s_person[keep], s_from[keep], s_type[keep].astype(str)
    s_began = s_from + rng.integers(0, 15, len(s_person)) * DAY
    alive = s_began < death[s_person]
    s_person, s_began, s_type = s_person[alive], s_began[alive], s_type[alive]
    mean = np.array([SERVICE_DAYS[t] for t in s_type])
    shortest = np.array([SERVICE_MINIMUM_DAYS.get(t, 1) for t in s_type]) * DAY
    planned_end = s_began + np.maximum(_exponential_days(rng, mean), shortest)
    dies = death[s_person] <= planned_end
    s_ended = np.where(dies, death[s_person], planned_end)
    st_max = s_type == "short_term_support_max_independence"
    s_outcome = np.where(
        st_max,
        _choose(rng, SERVICE_END_OUTCOMES["short_term_support_max_independence"], len(s_type)),
        _choose(rng, SERVICE_END_OUTCOMES["other"], len(s_type)),
    )
    s_outcome = np.where(dies, "Died", s_outcome)
    s_outcome = np.where(s_ended > end, None, s_outcome)  # still open
    s_setting = np.full(len(s_type), None, dtype=object)
    for placement, shares in SETTING_BEFORE.items():
        chosen = s_type == placement
        s_setting[chosen] = _choose(rng, shares, chosen.sum())
    add(s_person, "service", s_type.astype(object), s_outcome, s_setting, s_began, s_ended)

    # Reviews of long-term support: new services in the period, and people who already had
    # long-term support when it began.
    long_term = np.char.startswith(s_type, "long_term")
    r_person = s_person[long_term]
    r_from = s_began[long_term]
    r_until = np.minimum(s_ended[long_term], end)
    existing_weight = np.where(
        (adult <= start) & (death > start),
        _age_weight(world.ages_on(start), REQUEST_AGE_WEIGHTS),
        0.0,
    )
    candidates = np.flatnonzero(existing_weight > 0)
    existing = _weighted_sample(
        rng, candidates, existing_weight[candidates], round(EXISTING_CLIENTS * scale)
    )
    existing_from = start - rng.integers(0, 365, len(existing)) * DAY - 300 * DAY
    existing_until = np.minimum(
        start + _exponential_days(rng, np.full(len(existing), EXISTING_SUPPORT_DAYS)),
        np.minimum(death[existing], end),
    )
    r_person = np.concatenate([r_person, existing])
    r_from = np.concatenate([r_from, existing_from])
    r_until = np.concatenate([r_until, existing_until])
    # Review k happens about 49 days after the start (k = 0), then a year apart.
    most = int(years) + 12
    k = np.arange(most)
    offsets = np.where(k == 0, 49, 365 * k)
    due = r_from[:, None] + offsets[None, :] * DAY
    due = due + rng.integers(-14, 15, due.shape) * DAY
    happens = (
        (due >= start)
        & (due <= r_until[:, None])
        & (due < death[r_person][:, None])
        & (rng.random(due.shape) < REVIEWED_A_YEAR)
    )
    rows, _ = np.nonzero(happens)
    rv_person = r_person[rows]
    rv_began = due[happens]
    rv_ended = np.minimum(rv_began + rng.integers(0, 31, len(rows)) * DAY, death[rv_person])
    rv_outcome = _choose(rng, REVIEW_OUTCOMES, len(rows))
    add(rv_person, "review", None, rv_outcome, None, rv_began, rv_ended)

    table = {name: np.concatenate([e[name] for e in events]) for name in events[0]}
    inside = (table["start"] >= start) & (table["start"] <= end)
    table = {name: values[inside] for name, values in table.items()}
    count = len(table["person"])
    if count == 0:
        return _empty("asc_events")
    order = np.lexsort((rng.random(count), table["start"]))
    return pa.table(
        {
            "event_id": pa.array(ids_text("EV", count), pa.string()),
            "nhs_number": pa.array(world.nhs_numbers[table["person"][order]], pa.string()),
            "event_type": pa.array(table["type"][order], pa.string()),
            "service_type": pa.array(table["service"][order], pa.string()),
            "event_outcome": pa.array(table["outcome"][order], pa.string()),
            "support_setting_before": pa.array(table["setting"][order], pa.string()),
            "event_started_on": dates_text(table["start"][order]),
            "event_ended_on": dates_text(table["end"][order]),
        }
    )
