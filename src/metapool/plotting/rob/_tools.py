"""Risk-of-bias tools: their domains, judgements, colours and symbols.

A :class:`RobTool` says what a table of judgements may hold and how each
judgement is drawn. Two are built in, RoB 2 (randomised trials) and ROBINS-I
(non-randomised studies of interventions); any other tool is a ``RobTool``
with its own domains and judgements.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import attrs

from metapool.exceptions import InvalidParameterError, MetapoolTypeError

__all__ = ["ROB2", "ROBINS_I", "RobTool", "get_tool", "normalise"]

#: The colours of the Cochrane / robvis palette (McGuinness & Higgins 2021).
LOW = "#02C100"
CONCERNS = "#E2DF07"
HIGH = "#BF0000"
CRITICAL = "#820000"
NO_INFORMATION = "#4EA1F7"

_SPACES = re.compile(r"[\s_\-.]+")


def normalise(text: str) -> str:
    """A judgement as compared: lower case, runs of spaces, ``_``, ``-`` and ``.`` as one space,
    and a trailing "risk" / "risk of bias" dropped ("Low risk of bias" reads as "low")."""
    key = _SPACES.sub(" ", text.strip().lower()).strip()
    for tail in (" risk of bias", " risk"):
        if key.endswith(tail) and key != tail.strip():
            key = key[: -len(tail)]
    return key


def _texts(name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise MetapoolTypeError(
            f"The '{name}' parameter of RobTool must be a sequence of str. Got {value!r}."
        )
    out = tuple(value)
    if not out or not all(isinstance(v, str) and v.strip() for v in out):
        raise InvalidParameterError(
            f"The '{name}' parameter of RobTool must hold at least one non-empty str. "
            f"Got {value!r}."
        )
    return out


def _domains(value: Sequence[str]) -> tuple[str, ...]:
    return _texts("domains", value)


def _judgements(value: Sequence[str]) -> tuple[str, ...]:
    return _texts("judgements", value)


def _tuple(value: Sequence[str]) -> tuple[str, ...]:
    return tuple(value)


def _dict(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


@attrs.frozen(kw_only=True)
class RobTool:
    """A risk-of-bias tool: its domains and the judgements a study can receive.

    Parameters
    ----------
    name : str
        The tool's name, shown in legends (e.g. ``"RoB 2"``).
    domains : sequence of str
        The names of the domains, in order; the plots label them ``D1``,
        ``D2``, ... and explain the labels in a legend.
    judgements : sequence of str
        The judgements, from the least to the most concern (e.g. ``"Low"``,
        ``"Some concerns"``, ``"High"``); a last judgement meaning "no
        information" is allowed and is drawn last.
    colors : sequence of colour
        One fill colour per judgement.
    symbols : sequence of str
        One symbol per judgement, drawn inside the traffic light.
    aliases : mapping of str to str, optional
        Other spellings accepted for a judgement (e.g. ``"unclear"`` for
        ``"Some concerns"``). Judgements are compared ignoring case, spaces and
        a trailing "risk" or "risk of bias", so "Low risk", "LOW" and
        "low risk of bias" all read as "Low".

    Examples
    --------
    >>> import metapool as mp
    >>> tool = mp.RobTool(name="QUADAS-2", domains=["Patient selection", "Index test",
    ...                   "Reference standard", "Flow and timing"],
    ...                   judgements=["Low", "Unclear", "High"],
    ...                   colors=["#02C100", "#E2DF07", "#BF0000"], symbols=["+", "?", "-"])
    >>> tool.judgement("low risk"), tool.judgement("UNCLEAR")
    ('Low', 'Unclear')
    """

    name: str
    domains: tuple[str, ...] = attrs.field(converter=_domains)
    judgements: tuple[str, ...] = attrs.field(converter=_judgements)
    colors: tuple[str, ...] = attrs.field(converter=_tuple)
    symbols: tuple[str, ...] = attrs.field(converter=_tuple)
    aliases: Mapping[str, str] = attrs.field(factory=dict, converter=_dict)

    def __attrs_post_init__(self) -> None:
        n = len(self.judgements)
        for field in ("colors", "symbols"):
            if len(getattr(self, field)) != n:
                raise InvalidParameterError(
                    f"The '{field}' parameter of RobTool must have one entry per judgement "
                    f"({n}). Got {len(getattr(self, field))}."
                )
        from_key = {normalise(j): j for j in self.judgements}
        if len(from_key) != n:
            raise InvalidParameterError(
                f"The 'judgements' parameter of RobTool must hold distinct judgements. "
                f"Got {list(self.judgements)!r}."
            )
        for alias, target in self.aliases.items():
            if target not in self.judgements:
                raise InvalidParameterError(
                    f"The 'aliases' parameter of RobTool maps {alias!r} to {target!r}, which is "
                    f"not one of the judgements {list(self.judgements)!r}."
                )

    def judgement(self, text: str) -> str | None:
        """The tool's judgement that ``text`` spells, or None when it is none of them."""
        key = normalise(text)
        for j in self.judgements:
            if normalise(j) == key:
                return j
        for alias, target in self.aliases.items():
            if normalise(alias) == key:
                return target
        return None

    def color(self, judgement: str) -> str:
        """The fill colour of a judgement."""
        return self.colors[self.judgements.index(judgement)]

    def symbol(self, judgement: str) -> str:
        """The symbol of a judgement."""
        return self.symbols[self.judgements.index(judgement)]


ROB2 = RobTool(
    name="RoB 2",
    domains=(
        "Bias arising from the randomization process",
        "Bias due to deviations from intended interventions",
        "Bias due to missing outcome data",
        "Bias in measurement of the outcome",
        "Bias in selection of the reported result",
    ),
    judgements=("Low", "Some concerns", "High", "No information"),
    colors=(LOW, CONCERNS, HIGH, NO_INFORMATION),
    symbols=("+", "!", "\u2212", "?"),
    aliases={"some concern": "Some concerns", "unclear": "Some concerns", "ni": "No information"},
)
ROBINS_I = RobTool(
    name="ROBINS-I",
    domains=(
        "Bias due to confounding",
        "Bias in selection of participants into the study",
        "Bias in classification of interventions",
        "Bias due to deviations from intended interventions",
        "Bias due to missing data",
        "Bias in measurement of outcomes",
        "Bias in selection of the reported result",
    ),
    judgements=("Low", "Moderate", "Serious", "Critical", "No information"),
    colors=(LOW, CONCERNS, HIGH, CRITICAL, NO_INFORMATION),
    symbols=("+", "!", "\u2212", "\u00d7", "?"),
    aliases={"ni": "No information"},
)
_TOOLS = {"rob2": ROB2, "rob 2": ROB2, "robins i": ROBINS_I, "robinsi": ROBINS_I}


def get_tool(owner: str, tool: object) -> RobTool:
    """A :class:`RobTool` from ``"rob2"``, ``"robins-i"`` or a ``RobTool``."""
    if isinstance(tool, RobTool):
        return tool
    if isinstance(tool, str):
        found = _TOOLS.get(normalise(tool))
        if found is not None:
            return found
    raise InvalidParameterError(
        f"The 'tool' parameter of {owner} must be 'rob2', 'robins-i' or a metapool.RobTool. "
        f"Got {tool!r}."
    )
