"""MBG/NBD: BG/NBD where a customer may also drop out right after the first purchase.

Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of models for
customer base analysis" (the model ``lifetimes`` calls ModifiedBetaGeoFitter). In BG/NBD
dropout can only follow a repeat purchase, so every one-time buyer has P(alive) = 1 however
long ago they bought; here each purchase, the first included, is followed by a dropout
chance p, so a one-time buyer's P(alive) = 1 / (1 + a/b ((alpha+T)/alpha)^r) falls with T.

The log-likelihood of one customer (b' = b + x + 1)::

    log L = lgamma(r+x) - lgamma(r) + r log(alpha) - betaln(a, b)
            + logaddexp(betaln(a, b') - (r+x) log(alpha+T), betaln(a+1, b'-1) - (r+x) log(alpha+t_x))

The code is :mod:`shopseg.value.bgnbd`'s with one extra dropout chance (``SHIFT = 1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from shopseg.value.bgnbd import BetaGeoModel
from shopseg.value.transaction import register


@register
@dataclass
class ModifiedBetaGeoModel(BetaGeoModel):
    """The MBG/NBD model: parameters (r, alpha, a, b), predictions as in BetaGeoModel."""

    name: ClassVar[str] = "mbgnbd"
    label: ClassVar[str] = "MBG/NBD"
    SHIFT: ClassVar[int] = 1
