"""The tables of the funnel and the impact report by the young person's channel (Telegram,
Chat web: studio/analytics/channels.py), on the results page, the impact report and in CSV.

Masked as the per-source tables are (studio/analytics/masking.py): a count of 1-4 young people
is "< 5", and when a column hides exactly one count, its smallest shown count is withheld too,
so that the hidden one cannot be found back from the total (shown, unmasked, as the funnel
and the impact report show it).
"""

from __future__ import annotations

from collections.abc import Callable

from core.vocabulary import channel_label
from studio.analytics import IMPACT_LABELS, STAGE_LABELS, ChannelSplit, Results
from studio.analytics.masking import masked_column
from web.results.tables import Table

UNATTRIBUTED_LABEL = "Effacés avant le suivi par canal"
CHANNEL_COLUMN = "Canal de discussion"


def channel_split_table(
    split: ChannelSplit, name: str, title: str, labels: dict[str, str]
) -> Table:
    """One row per channel (masked), the people erased before the split was kept if any,
    and the total."""
    labelled = [(channel_label(r.channel), r.counts) for r in split.rows]
    if split.any_unattributed:
        labelled.append((UNATTRIBUTED_LABEL, split.unattributed))
    columns = [
        masked_column([counts[s] for _, counts in labelled], split.totals[s]) for s in split.stages
    ]
    rows = [
        [label, *(column[index] for column in columns)] for index, (label, _) in enumerate(labelled)
    ]
    rows.append(["Total", *(str(split.totals[s]) for s in split.stages)])
    return Table(
        name,
        title,
        [CHANNEL_COLUMN, *(labels[s] for s in split.stages)],
        rows,
        frozenset(range(1, len(split.stages) + 1)),
        total_rows=1,
    )


def funnel_channels_table(results: Results) -> Table:
    return channel_split_table(
        results.channels,
        "entonnoir_canaux",
        "Entonnoir par canal de discussion",
        STAGE_LABELS,
    )


def impact_channels_table(split: ChannelSplit, year: int) -> Table:
    return channel_split_table(
        split, "impact_canaux", f"Par canal de discussion : {year}", IMPACT_LABELS
    )


CHANNEL_TABLES: dict[str, Callable[[Results], Table]] = {
    "entonnoir_canaux": funnel_channels_table,
}
