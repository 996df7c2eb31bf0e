"""The MK Deal as versioned data: partners, priorities, leads and measures.

`load_deal()` reads and checks the packaged Deal file; `deal_as_dict` and
`render_deal_text` are its JSON and terminal faces.
"""

from mkdeal.deal.load import deal_as_dict, load_deal, parse_deal
from mkdeal.deal.model import Change, Deal, Partner, PartnerKind, Priority, Release, Source
from mkdeal.deal.render import render_deal_text

__all__ = [
    "Change",
    "Deal",
    "Partner",
    "PartnerKind",
    "Priority",
    "Release",
    "Source",
    "deal_as_dict",
    "load_deal",
    "parse_deal",
    "render_deal_text",
]
