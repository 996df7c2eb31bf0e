"""UCR referrals: one row per referral to the two-hour urgent community response.

Mirrors the Community Services Data Set, from which NHS England measures the share of
urgent community response referrals seen within two hours (the two-hour standard).
"""

from __future__ import annotations

from mkdeal.datasets.contract import Column, Dataset, NationalSource
from mkdeal.datasets.definitions._shared import nhs_number, not_before, provider_code

UCR_REFERRALS = Dataset(
    name="ucr_referrals",
    title="Two-hour urgent community response referrals",
    description=(
        "One row per referral to the urgent community response service: when it was "
        "received, the clinical condition or need, and when the two-hour clock started and "
        "stopped. The period column is the time the referral was received, which every "
        "referral has and which does not change as the response happens."
    ),
    columns=(
        Column(
            "referral_id",
            "string",
            "The community provider's identifier of the referral.",
            example="UCR00012345",
        ),
        nhs_number(),
        provider_code("The ODS code of the community provider (RV3 for CNWL)."),
        Column(
            "referral_received_at",
            "timestamp",
            "The date and time the UCR service received the referral.",
            example="2025-04-01 10:15",
        ),
        Column(
            "clinical_condition",
            "string",
            "The clinical condition or need behind the referral, one of the nine in the "
            "two-hour standard.",
            required=False,
            codes="ucr_clinical_condition",
            caveat=(
                "This field is often blank or set to the nearest condition by the person "
                "taking the call, so counts by condition are indicative."
            ),
            example="1",
        ),
        Column(
            "clock_started_at",
            "timestamp",
            "The date and time the two-hour clock started (normally when the referral was "
            "accepted as needing a two-hour response).",
            required=False,
            example="2025-04-01 10:20",
        ),
        Column(
            "clock_stopped_at",
            "timestamp",
            "The date and time the clock stopped: the first care contact with the patient.",
            required=False,
            caveat=(
                "Contact times are entered after the visit and sometimes rounded, so "
                "responses just under or over two hours are uncertain."
            ),
            example="2025-04-01 11:45",
        ),
        Column(
            "two_hour_response_required",
            "boolean",
            "Whether the referral needed a two-hour response under the urgent community "
            "response standard (the measure counts only those that did).",
            example="Y",
        ),
    ),
    natural_key=("referral_id",),
    period_column="referral_received_at",
    mirrors=(
        NationalSource(
            "NHS England: Community Services Data Set (urgent community response)",
            "https://digital.nhs.uk/data-and-information/data-collections-and-data-sets/"
            "data-sets/community-services-data-set",
        ),
        NationalSource(
            "NHS England: Urgent community response services (two-hour standard)",
            "https://www.england.nhs.uk/community-health-services/urgent-community-response-"
            "services/",
        ),
    ),
    caveats=(
        "Referrals triaged as not needing a two-hour response have no clock and are outside "
        "the two-hour measure's denominator.",
    ),
    row_checks=(
        not_before(
            "clock_started_at",
            "referral_received_at",
            "The clock starts before the referral was received.",
        ),
        not_before(
            "clock_stopped_at", "clock_started_at", "The clock stop is before the clock start."
        ),
    ),
)
