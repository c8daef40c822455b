"""Managers' side of outreach campaigns: the QR codes of their deep links (qr.py), what a
manager types read into a draft (entry.py), and how many young people each reached
(reach.py). The campaigns themselves and attribution are core/campaigns.py's."""

from studio.campaigns.entry import CampaignFields, euros, parse_euros, read_draft
from studio.campaigns.qr import flyer_svg, qr_code, qr_png
from studio.campaigns.reach import Reach, campaign_reach

__all__ = [
    "CampaignFields",
    "Reach",
    "campaign_reach",
    "euros",
    "flyer_svg",
    "parse_euros",
    "qr_code",
    "qr_png",
    "read_draft",
]
