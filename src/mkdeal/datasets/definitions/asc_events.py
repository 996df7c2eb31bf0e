"""Adult social care events: one row per request, assessment, service or review.

Mirrors NHS England's Adult Social Care Client Level Data (CLD), the quarterly record-level
return from councils that replaced the aggregate Short and Long Term (SALT) return as the
source of ASCOF measures.
"""

from __future__ import annotations

from mkdeal.datasets.contract import Column, Dataset, NationalSource, RowCheck
from mkdeal.datasets.definitions._shared import nhs_number, not_before

ASC_EVENTS = Dataset(
    name="asc_events",
    title="Adult social care events",
    description=(
        "One row per adult social care event recorded by Milton Keynes City Council: a "
        "request for support, an assessment, a service (what support, in what setting) or a "
        "review, with its start and end. The period column is the event's start date, which "
        "every event has and which does not change when an open service later ends; client "
        "level data reports requests, assessments and reviews by completion and services "
        "while active, so a measure of a quarter needs the slices in which its events "
        "started."
    ),
    columns=(
        Column(
            "event_id",
            "string",
            "The council's identifier of the event.",
            example="EV00012345",
        ),
        nhs_number(
            caveat=(
                "Councils' records lack a traced NHS number for some people, and those rows "
                "are quarantined, so counts fall short of the council's own."
            ),
        ),
        Column(
            "event_type",
            "string",
            "The kind of event, as client level data defines it: request, assessment, "
            "service or review.",
            codes="asc_event_type",
            example="service",
        ),
        Column(
            "service_type",
            "string",
            "For a service event, what support it is (for example short term support to "
            "maximise independence, or long term residential care).",
            required=False,
            codes="asc_service_type",
            caveat=(
                "The list of service types is incomplete in mkdeal (carer support types are "
                "missing), so carer services are quarantined until it is completed."
            ),
            example="short_term_support_max_independence",
        ),
        Column(
            "event_outcome",
            "string",
            "The outcome of the event as the council records it, in client level data's wording.",
            required=False,
            caveat=(
                "Outcomes are not yet checked against client level data's defined list, so "
                "spellings vary between councils and releases."
            ),
            example="Services ended as planned",
        ),
        Column(
            "support_setting_before",
            "string",
            "For a new long-term residential or nursing placement, the setting of the "
            "person's long-term support before it (ASCOF 2A counts admissions from the "
            "community).",
            required=False,
            codes="asc_support_setting",
            example="community",
        ),
        Column(
            "event_started_on",
            "date",
            "The date the event started.",
            example="2025-04-01",
        ),
        Column(
            "event_ended_on",
            "date",
            "The date the event ended; blank for a service that is still open.",
            required=False,
            example="2025-05-10",
        ),
    ),
    natural_key=("event_id",),
    period_column="event_started_on",
    mirrors=(
        NationalSource(
            "NHS England: Adult Social Care Client Level Data",
            "https://digital.nhs.uk/data-and-information/data-collections-and-data-sets/"
            "data-sets/adult-social-care-client-level-data",
        ),
    ),
    caveats=(
        "Councils map their case management systems' events to client level data's four "
        "types with their own judgement, so comparisons between councils need care.",
        "Cancelled events are excluded from client level data; extracts should exclude them too.",
    ),
    row_checks=(
        not_before("event_ended_on", "event_started_on", "The event ends before it starts."),
        RowCheck(
            field="service_type",
            reason="A service type is given for an event that is not a service.",
            uses=("service_type", "event_type"),
            holds=lambda t: t.event_type == "service",
        ),
    ),
)
