"""Activity payloads into canonical days: the adapters on realistic payloads (overlapping
iPhone and Watch, a value sent as a string, time-zone travel, both clock changes, FHIR,
staff entry, malformed ones), then ingestion (repeats, late data, revisions after a day
was final, buckets in the warehouse) and valid days."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta

import ibis
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mkdeal.activity import participants
from mkdeal.activity.adapters import PayloadError, parse
from mkdeal.activity.days import day_for_goals, next_version, valid_day
from mkdeal.activity.ingest import finalise, ingest, raw_path, write_buckets
from mkdeal.activity.participants import Identity
from mkdeal.activity.programme import Eligibility
from mkdeal.appdb.models import ActivityDay, ActivityDayVersion, SyncInbox
from mkdeal.db import IDENTIFIABLE_STORE, open_app_database, open_store, upgrade
from mkdeal.people import Pseudonymiser

LONDON = "Europe/London"


def _stat(kind, start, end, total, sources=None):
    statistic = {"type": kind, "start": start, "end": end, "sum": total}
    if sources is not None:
        statistic["sources"] = [{"name": n, "sum": s} for n, s in sources]
    return statistic


def healthkit(interval, *statistics) -> bytes:
    return json.dumps(
        {
            "format": "healthkit-statistics",
            "version": 1,
            "interval": interval,
            "statistics": list(statistics),
        }
    ).encode()


STEPS = "HKQuantityTypeIdentifierStepCount"
MAR2, MAR3 = "2026-03-02T00:00:00+00:00", "2026-03-03T00:00:00+00:00"
EXERCISE = "HKQuantityTypeIdentifierAppleExerciseTime"


def _day(payload: bytes, source="healthkit", zone=LONDON):
    parsed = parse(source, payload, zone)
    return {d.local_date: d for d in parsed.days}


# --- adapters ------------------------------------------------------------------------------


def test_overlapping_iphone_and_watch_count_once_by_healthkits_merged_sum():
    """Both devices counted a 40-minute walk; HealthKit's merged sum counts it once. The
    per-source sums (5,200 + 3,100 = 8,300) are kept for audit and never added."""
    payload = healthkit(
        "P1D",
        _stat(
            STEPS,
            "2026-03-02T00:00:00+00:00",
            "2026-03-03T00:00:00+00:00",
            6012,
            [("Ann's Apple Watch", 5200), ("Ann's iPhone", 3100)],
        ),
        _stat(EXERCISE, MAR2, MAR3, 32),
    )
    day = _day(payload)[date(2026, 3, 2)]
    assert (day.steps, day.moderate_minutes, day.vigorous_minutes) == (6012, 32, None)
    assert day.detail == {"steps by source": {"Ann's Apple Watch": 5200, "Ann's iPhone": 3100}}
    assert parse("healthkit", payload, LONDON).scopes == {"scope_steps", "scope_active_minutes"}
    without_sum = json.loads(payload)
    del without_sum["statistics"][0]["sum"]
    with pytest.raises(PayloadError, match=r"no merged sum.*never added"):
        parse("healthkit", json.dumps(without_sum).encode(), LONDON)


@pytest.mark.parametrize(
    ("value", "expected"), [("6012", 6012), (" 6012 ", 6012), ("6012.0", 6012), (6012.0, 6012)]
)
def test_a_value_sent_as_a_string_or_float_is_read_when_it_is_a_whole_number(value, expected):
    payload = healthkit("P1D", _stat(STEPS, MAR2, MAR3, value))
    assert _day(payload)[date(2026, 3, 2)].steps == expected


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "must be a JSON object"),
        (json.dumps({"format": "healthkit-statistics", "version": 2}).encode(), '"version": 1'),
        (healthkit("P2D"), "interval must be one of"),
        (healthkit("P1D"), "at least one statistic"),
        (
            healthkit("P1D", _stat(STEPS, MAR2, MAR3, "6,012")),
            "'6,012', which is not a whole number",
        ),
        (
            healthkit("P1D", _stat(STEPS, MAR2, MAR3, -5)),
            "not a whole number of 0 or more",
        ),
        (
            healthkit("P1D", _stat(STEPS, MAR2, MAR3, True)),
            "not true or false",
        ),
        (
            healthkit("P1D", _stat(STEPS, "2026-03-02T06:00:00Z", "2026-03-03T06:00:00Z", 5)),
            "from one local midnight to the next",
        ),
        (
            healthkit("P1D", _stat("HKQuantityTypeIdentifierHeartRate",
                   MAR2, MAR3, 60)),
            "is not one of",
        ),
        (
            healthkit("PT1H", _stat(STEPS, "2026-03-02T09:00:00Z", "2026-03-02T09:30:00Z", 5)),
            "must last 60 minutes",
        ),
        (
            healthkit("P1D", _stat(STEPS, "yesterday", "2026-03-03T00:00:00+00:00", 5)),
            "'yesterday', which is not an ISO 8601 time",
        ),
    ],
)  # fmt: skip
def test_malformed_healthkit_payloads_are_refused_with_a_sentence(payload, message):
    with pytest.raises(PayloadError, match=message):
        parse("healthkit", payload, LONDON)


def _hours(start: datetime, counts: list[int]) -> list[dict]:
    return [
        _stat(
            STEPS,
            (start + timedelta(hours=i)).isoformat(),
            (start + timedelta(hours=i + 1)).isoformat(),
            n,
        )
        for i, n in enumerate(counts)
    ]


def test_time_zone_travel_puts_steps_on_the_local_date_where_the_participant_was():
    """A Londoner in New York: 23:00-24:00 New York time on 5 March is 04:00-05:00 UTC on
    the 6th, but their study day is the 5th. The phone sends times with New York's offset."""
    from zoneinfo import ZoneInfo

    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 3, 5, 21, tzinfo=new_york)
    days = _day(healthkit("PT1H", *_hours(start, [300, 200, 100, 50])))
    assert days[date(2026, 3, 5)].steps == 600  # 21:00, 22:00 and 23:00 New York time
    assert days[date(2026, 3, 6)].steps == 50
    assert days[date(2026, 3, 5)].buckets[-1].start == datetime(2026, 3, 6, 4, tzinfo=UTC)
    # A time without an offset is in the participant's own zone.
    daily = healthkit("P1D", _stat(STEPS, "2026-03-05T00:00:00", "2026-03-06T00:00:00", 7000))
    assert _day(daily, zone="America/New_York")[date(2026, 3, 5)].steps == 7000


def test_spring_clock_change_day_has_23_hours_and_autumn_25():
    from zoneinfo import ZoneInfo

    london = ZoneInfo(LONDON)
    # 29 March 2026: 01:00 GMT becomes 02:00 BST. A whole day is 23 hours.
    spring = healthkit(
        "P1D", _stat(STEPS, "2026-03-29T00:00:00+00:00", "2026-03-30T00:00:00+01:00", 4000)
    )
    assert _day(spring)[date(2026, 3, 29)].steps == 4000
    midnight = datetime(2026, 3, 29, tzinfo=london).astimezone(UTC)
    hours = [_stat(STEPS, (midnight + timedelta(hours=i)).astimezone(london).isoformat(),
                   (midnight + timedelta(hours=i + 1)).astimezone(london).isoformat(), 100)
             for i in range(23)]  # fmt: skip
    day = _day(healthkit("PT1H", *hours))
    assert list(day) == [date(2026, 3, 29)]
    assert day[date(2026, 3, 29)].steps == 2300 and len(day[date(2026, 3, 29)].buckets) == 23
    # 25 October 2026: 02:00 BST becomes 01:00 GMT. The hour from 01:00 comes twice.
    midnight = datetime(2026, 10, 25, tzinfo=london).astimezone(UTC)
    hours = [_stat(STEPS, (midnight + timedelta(hours=i)).astimezone(london).isoformat(),
                   (midnight + timedelta(hours=i + 1)).astimezone(london).isoformat(), 10)
             for i in range(25)]  # fmt: skip
    assert {h["start"][11:16] for h in hours[1:3]} == {"01:00"}
    day = _day(healthkit("PT1H", *hours))
    assert list(day) == [date(2026, 10, 25)]
    assert day[date(2026, 10, 25)].steps == 250 and len(day[date(2026, 10, 25)].buckets) == 25
    autumn = healthkit(
        "P1D", _stat(STEPS, "2026-10-25T00:00:00+01:00", "2026-10-26T00:00:00+00:00", 9000)
    )
    assert _day(autumn)[date(2026, 10, 25)].steps == 9000


def _observation(code, value, **effective):
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"code": "activity"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "valueQuantity": {
            "value": value, "unit": "steps", "system": "http://unitsofmeasure.org",
            "code": "{steps}",
        },
        **effective,
    }  # fmt: skip


def _hour(start: str) -> dict:
    begins = datetime.fromisoformat(start + ":00:00+00:00")
    return {"start": begins.isoformat(), "end": (begins + timedelta(hours=1)).isoformat()}


def test_fhir_observations_daily_and_over_periods():
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": _observation("41950-7", 5400, effectiveDateTime="2026-03-02")},
            {"resource": _observation("55423-8", 1200, effectivePeriod=_hour("2026-03-03T08"))},
            {"resource": _observation("55423-8", "800", effectivePeriod=_hour("2026-03-03T17"))},
        ],
    }  # fmt: skip
    days = _day(json.dumps(bundle).encode(), "fhir")
    assert (days[date(2026, 3, 2)].steps, days[date(2026, 3, 3)].steps) == (5400, 2000)
    crossing = _observation(
        "55423-8",
        10,
        effectivePeriod={"start": "2026-03-03T23:30:00+00:00", "end": "2026-03-04T00:30:00+00:00"},
    )  # fmt: skip
    with pytest.raises(PayloadError, match="crosses local midnight"):
        parse("fhir", json.dumps(crossing).encode(), LONDON)
    preliminary = {
        **_observation("41950-7", 10, effectiveDateTime="2026-03-02"),
        "status": "preliminary",
    }
    with pytest.raises(PayloadError, match="status 'preliminary'"):
        parse("fhir", json.dumps(preliminary).encode(), LONDON)
    heart = {**_observation("8867-4", 60, effectiveDateTime="2026-03-02")}
    with pytest.raises(PayloadError, match="is not LOINC 41950-7 or 55423-8"):
        parse("fhir", json.dumps(heart).encode(), LONDON)


def test_staff_entry_is_marked_manual_with_its_reason():
    payload = {"format": "manual", "version": 1, "reason": "Watch strap broke", "days": [
        {"date": "2026-03-02", "steps": 4100, "moderate_minutes": 20}]}  # fmt: skip
    day = _day(json.dumps(payload).encode(), "manual")[date(2026, 3, 2)]
    assert (day.steps, day.moderate_minutes) == (4100, 20)
    assert day.detail == {"manual": True, "reason": "Watch strap broke"}
    with pytest.raises(PayloadError, match="Say why"):
        parse("manual", json.dumps({**payload, "reason": ""}).encode(), LONDON)


# --- days ------------------------------------------------------------------------------


def test_a_reading_replaces_only_the_values_it_carries_and_repeats_change_nothing():
    first = next_version(None, 0, False, {"steps": 3000})
    assert first.version == 1 and first.values["steps"] == 3000 and not first.after_final
    second = next_version(first.values, 1, False, {"moderate_minutes": 20, "steps": None})
    assert dict(second.values) == {**first.values, "moderate_minutes": 20}
    assert next_version(second.values, 2, False, {"steps": 3000}) is None
    late = next_version(second.values, 2, True, {"steps": 3500})
    assert (late.version, late.after_final) == (3, True)


@pytest.mark.parametrize(
    ("values", "valid"),
    [
        ({"steps": 0}, False),
        ({"steps": None}, False),
        ({"steps": 999}, False),
        ({"steps": 1000}, True),
        ({"steps": 40000}, True),
        ({"steps": 40001}, False),
    ],
)
def test_valid_days_under_the_rule_in_force(values, valid):
    assert valid_day(values)[0] is valid


def test_wear_rule_and_zero_steps_is_non_wear():
    assert valid_day({"steps": 5, "wear_minutes": 600}, "wear_10_hours/1") == (True, "")
    assert valid_day({"steps": 5, "wear_minutes": 599}, "wear_10_hours/1")[0] is False
    assert valid_day({"steps": 0, "wear_minutes": 900}, "wear_10_hours/1") == (
        False,
        "No steps: the device was not worn.",
    )


def test_one_source_counts_when_several_sent_a_day():
    assert day_for_goals({"fhir": {"steps": 9}, "healthkit": {"steps": 5}})[0] == "healthkit"
    assert day_for_goals({"manual": {"steps": 1}, "healthkit": {"steps": 5}})[0] == "manual"


# --- ingestion ---------------------------------------------------------------------------


@pytest.fixture
def enrolled(settings):
    upgrade(settings)
    app = open_app_database(settings)
    identifiable = open_store(IDENTIFIABLE_STORE, settings)
    now = datetime(2026, 2, 20, 9, tzinfo=UTC)
    participants.load_practices(app, [("Z90001", "Synthetic practice 1")], now)
    reference = participants.enrol(
        app, identifiable, Pseudonymiser(settings.pseudonymisation_key),
        Identity("9990000018", "Ada", "Example", date(1958, 6, 1), "ada@example.com"),
        Eligibility(date(1958, 6, 1), True, "Z90001", "apple_watch_iphone", True),
        actor="sam", now=now, today=now.date(),
    )  # fmt: skip
    yield settings, app, participants.record(app, reference)
    app.dispose()
    identifiable.dispose()


def _receive(settings, app, participant, payload: bytes, at: datetime, source="healthkit") -> int:
    """What the sync API does: the raw file, then a pending inbox row."""
    digest = hashlib.sha256(payload).hexdigest()
    path = raw_path(settings.data_dir, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    with Session(app) as session, session.begin():
        row = SyncInbox(
            participant_id=participant.id, source=source, content_hash=digest,
            size=len(payload), received_at=at, status="pending",
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def _daily(day: str, steps) -> bytes:
    start = date.fromisoformat(day)
    end = start + timedelta(days=1)
    return healthkit("P1D", _stat(STEPS, f"{start}T00:00:00+00:00", f"{end}T00:00:00+00:00", steps))


def _days(app):
    with Session(app) as session:
        days = {d.local_date: d for d in session.scalars(select(ActivityDay))}
        versions = list(session.scalars(select(ActivityDayVersion).order_by(ActivityDayVersion.id)))
        session.expunge_all()
    return days, versions


def test_partial_then_complete_day_then_final_then_a_late_revision_keeps_every_version(enrolled):
    settings, app, person = enrolled
    at = datetime(2026, 3, 2, 20, tzinfo=UTC)
    _receive(settings, app, person, _daily("2026-03-02", 3000), at)  # evening, partial
    first = ingest(app, settings.data_dir, as_of=date(2026, 3, 2), now=at)
    assert (first.payloads, first.versions) == (1, 1)
    _receive(settings, app, person, _daily("2026-03-02", 6500), at + timedelta(hours=12))
    # The same readings sent again in another payload: no new version.
    resent = json.loads(_daily("2026-03-02", 6500))
    resent["sent_again"] = True
    _receive(settings, app, person, json.dumps(resent).encode(), at + timedelta(hours=13))
    second = ingest(app, settings.data_dir, as_of=date(2026, 3, 3), now=at)
    assert (second.payloads, second.versions, second.unchanged) == (2, 1, 1)
    days, _ = _days(app)
    assert (days[date(2026, 3, 2)].steps, days[date(2026, 3, 2)].version) == (6500, 2)
    assert not days[date(2026, 3, 2)].final
    # Final from 10 March (7 days after the day ended), once.
    assert finalise(app, as_of=date(2026, 3, 9), now=at) == 0
    assert finalise(app, as_of=date(2026, 3, 10), now=at) == 1
    assert finalise(app, as_of=date(2026, 3, 10), now=at) == 0
    # A late sync after final: a revision, both versions kept.
    _receive(settings, app, person, _daily("2026-03-02", 7100), datetime(2026, 3, 20, tzinfo=UTC))
    late = ingest(app, settings.data_dir, as_of=date(2026, 3, 20), now=at)
    assert late.revisions_after_final == 1
    days, versions = _days(app)
    day = days[date(2026, 3, 2)]
    assert (day.steps, day.version, day.final, day.revised_after_final) == (7100, 3, True, True)
    assert [(v.version, v.steps, v.after_final) for v in versions] == [
        (1, 3000, False),
        (2, 6500, False),
        (3, 7100, True),
    ]
    # Data for a day long past arrives final at once, as its first version.
    _receive(
        settings, app, person, _daily("2026-02-21", 4000), datetime(2026, 3, 20, 1, tzinfo=UTC)
    )
    ingest(app, settings.data_dir, as_of=date(2026, 3, 20), now=at)
    days, _ = _days(app)
    assert days[date(2026, 2, 21)].final and not days[date(2026, 2, 21)].revised_after_final


def test_a_payload_that_cannot_be_read_is_rejected_and_the_rest_ingested(enrolled):
    settings, app, person = enrolled
    at = datetime(2026, 3, 2, 20, tzinfo=UTC)
    bad = _receive(settings, app, person, b'{"format": "healthkit-statistics"}', at)
    missing = _receive(settings, app, person, _daily("2026-03-01", 10), at)
    raw_files = list((settings.data_dir / "raw" / "activity").rglob("*.json"))
    with Session(app) as session:
        digest = session.get(SyncInbox, missing).content_hash
    raw_path(settings.data_dir, digest).unlink()
    _receive(settings, app, person, _daily("2026-03-02", 5000), at)
    done = ingest(app, settings.data_dir, as_of=date(2026, 3, 3), now=at)
    assert (done.payloads, done.rejected) == (1, 2)
    with Session(app) as session:
        rows = {r.id: r for r in session.scalars(select(SyncInbox))}
    assert rows[bad].status == "rejected" and '"version": 1' in rows[bad].problem
    assert rows[missing].problem == "The raw file is missing."
    assert len(raw_files) == 2


def test_step_buckets_go_to_the_warehouse_replacing_by_interval(enrolled, tmp_path):
    settings, app, person = enrolled
    backend = ibis.duckdb.connect(str(tmp_path / "w.duckdb"))
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    quarter = [
        _stat(STEPS, (start + timedelta(minutes=15 * i)).isoformat(),
              (start + timedelta(minutes=15 * (i + 1))).isoformat(), n)
        for i, n in enumerate([100, 250, 0, 40])
    ]  # fmt: skip
    _receive(settings, app, person, healthkit("PT15M", *quarter), start)
    store = lambda table: write_buckets(backend, table)  # noqa: E731
    assert (
        ingest(
            app, settings.data_dir, as_of=date(2026, 3, 2), now=start, write_buckets=store
        ).buckets
        == 4
    )
    quarter[1]["sum"] = 300  # the phone sends the same quarter-hour again, corrected
    _receive(settings, app, person, healthkit("PT15M", *quarter[:2]), start + timedelta(hours=2))
    ingest(app, settings.data_dir, as_of=date(2026, 3, 2), now=start, write_buckets=store)
    rows = backend.table("activity_buckets").order_by("bucket_start").to_pyarrow().to_pylist()
    assert [(r["minutes"], r["steps"]) for r in rows] == [(15, 100), (15, 300), (15, 0), (15, 40)]
    assert {r["person_id"] for r in rows} == {person.person_id}
    days, _ = _days(app)
    # The second payload held half the day: the day is what that payload says it is.
    assert days[date(2026, 3, 2)].steps == 400
    backend.disconnect()


def test_a_run_killed_after_the_warehouse_write_reruns_to_the_same_state(enrolled, tmp_path):
    settings, app, person = enrolled
    backend = ibis.duckdb.connect(str(tmp_path / "w.duckdb"))
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    hours = [
        _stat(STEPS, (start + timedelta(hours=i)).isoformat(),
              (start + timedelta(hours=i + 1)).isoformat(), 100 * (i + 1))
        for i in range(3)
    ]  # fmt: skip
    _receive(settings, app, person, healthkit("PT1H", *hours), start)

    def dies(table):
        write_buckets(backend, table)
        raise KeyboardInterrupt  # the process is stopped before the app database commits

    with pytest.raises(KeyboardInterrupt):
        ingest(app, settings.data_dir, as_of=date(2026, 3, 2), now=start, write_buckets=dies)
    with Session(app) as session:
        assert session.scalar(select(SyncInbox.status)) == "pending"
    assert _days(app) == ({}, [])
    done = ingest(
        app, settings.data_dir, as_of=date(2026, 3, 2), now=start,
        write_buckets=lambda table: write_buckets(backend, table),
    )  # fmt: skip
    assert (done.payloads, done.versions, done.buckets) == (1, 1, 3)
    assert backend.table("activity_buckets").count().to_pyarrow().as_py() == 3
    days, versions = _days(app)
    assert days[date(2026, 3, 2)].steps == 600 and len(versions) == 1
    backend.disconnect()


def test_run_due_ingests_the_inbox_then_has_nothing_due(enrolled, capsys, monkeypatch):
    from mkdeal.cli import main

    settings, app, person = enrolled
    for name, value in {"MKDEAL_DATA_DIR": str(settings.data_dir)}.items():
        monkeypatch.setenv(name, value)
    from .conftest import TEST_KEYS

    for name, value in TEST_KEYS.items():
        monkeypatch.setenv(name, value)
    _receive(
        settings, app, person, _daily("2026-03-02", 5100), datetime(2026, 3, 2, 21, tzinfo=UTC)
    )
    assert main(["--as-of", "2026-03-12", "run-due"]) == 0
    out = capsys.readouterr().out
    assert "1 payloads ingested, 0 rejected; 1 day versions" in out
    days, _ = _days(app)
    assert days[date(2026, 3, 2)].steps == 5100 and days[date(2026, 3, 2)].final
    assert main(["--as-of", "2026-03-12", "run-due", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "ingest-activity: nothing due" in out and "finalise-activity-days: nothing due" in out


def test_withdrawing_data_deletes_days_versions_payloads_and_buckets_and_keeps_a_record(
    enrolled, tmp_path
):
    from mkdeal.activity.ingest import delete_person_buckets, delete_withdrawn_data, deletions_due
    from mkdeal.appdb.models import ActivityDataDeletion

    settings, app, person = enrolled
    backend = ibis.duckdb.connect(str(tmp_path / "w.duckdb"))
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    hours = [
        _stat(STEPS, (start + timedelta(hours=i)).isoformat(),
              (start + timedelta(hours=i + 1)).isoformat(), 100)
        for i in range(2)
    ]  # fmt: skip
    _receive(settings, app, person, healthkit("PT1H", *hours), start)
    _receive(settings, app, person, _daily("2026-03-03", 5000), start + timedelta(days=1))
    store = lambda table: write_buckets(backend, table)  # noqa: E731
    ingest(app, settings.data_dir, as_of=date(2026, 3, 4), now=start, write_buckets=store)
    assert deletions_due(app) == []
    participants.withdraw(app, person.reference, "data", "asked", actor="sam", now=start)
    assert deletions_due(app) == [person.id]
    record = delete_withdrawn_data(
        app, settings.data_dir, person.id, now=start,
        delete_buckets=lambda pid: delete_person_buckets(backend, pid),
    )  # fmt: skip
    assert (record.days, record.versions, record.payloads, record.buckets) == (2, 2, 2, 2)
    assert _days(app) == ({}, [])
    assert list((settings.data_dir / "raw").rglob("*.json")) == []
    assert backend.table("activity_buckets").count().to_pyarrow().as_py() == 0
    assert deletions_due(app) == []
    with Session(app) as session:
        assert session.scalar(select(ActivityDataDeletion.participant_id)) == person.id
        assert session.scalar(select(SyncInbox.id)) is None
    backend.disconnect()


@pytest.mark.postgres
def test_enrol_sync_ingest_and_finalise_on_postgres(settings, new_postgres_url):
    """The app database and the identifiable store on PostgreSQL, as in production."""
    import dataclasses

    from mkdeal.activity import sync

    settings = dataclasses.replace(
        settings, app_database_url=new_postgres_url(), identifiable_store_url=new_postgres_url()
    )
    upgrade(settings)
    app = open_app_database(settings)
    identifiable = open_store(IDENTIFIABLE_STORE, settings)
    now = datetime(2026, 3, 2, 20, tzinfo=UTC)
    participants.load_practices(app, [("Z90001", "Synthetic practice 1")], now)
    reference = participants.enrol(
        app, identifiable, Pseudonymiser(settings.pseudonymisation_key),
        Identity("9990000018", "Ada", "Example", date(1958, 6, 1), "ada@example.com"),
        Eligibility(date(1958, 6, 1), True, "Z90001", "apple_watch_iphone", True),
        actor="sam", now=now, today=now.date(),
    )  # fmt: skip
    person = participants.record(app, reference)
    first = sync.receive(
        app, settings.data_dir, person.id, "healthkit", _daily("2026-03-02", 10), now=now
    )
    assert sync.receive(
        app, settings.data_dir, person.id, "healthkit", _daily("2026-03-02", 10), now=now
    ) == (first[0], True)
    sync.receive(
        app, settings.data_dir, person.id, "healthkit", _daily("2026-03-02", 7000), now=now
    )
    done = ingest(app, settings.data_dir, as_of=date(2026, 3, 3), now=now)
    assert (done.payloads, done.versions) == (2, 2)
    assert finalise(app, as_of=date(2026, 3, 10), now=now) == 1
    rows = sync.days_of(app, person.id, date(2026, 3, 1), date(2026, 3, 3))
    assert [(r.values["steps"], r.version, r.final, r.valid) for r in rows] == [
        (7000, 2, True, True)
    ]
    app.dispose()
    identifiable.dispose()
