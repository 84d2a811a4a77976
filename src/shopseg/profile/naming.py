"""Readable, unique segment names assembled from the words of fired naming rules.

Every word comes from a rule of :mod:`shopseg.profile.rules` (thresholds against shop-wide
reference values, recorded in profiles.json), so a name never says more than its evidence:

* with order history the base says recency, value and loyalty ("Lapsed low-value
  one-timers", "Active high-value loyal", "Mid-value repeat buyers"); a word whose rule did
  not fire is left out (a segment that is neither lapsed nor active has no recency word);
* then, after a dot, the first trait in this order: the price level ("bargain hunters",
  "premium buyers"), the strongest behaviour trait (|d| >= 0.5 and the shop-wide check),
  what the segment buys (a category by lift, else purchase keywords), e.g.
  "Lapsed low-value one-timers · bargain hunters";
* without orders (a customer table) the name is the two strongest traits.

Repeated names take the next traits (weak ones too), then a number.
"""

from __future__ import annotations

from shopseg.profile.rules import TRAITS, SegmentRules, trait_phrase

__all__ = ["TRAITS", "name_segments", "trait_phrase"]


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _options(rules: SegmentRules) -> list[str]:
    """Candidate names, preferred first."""
    base = _capitalised(" ".join(rules.base_words)) if rules.base_words else None
    strong = list(dict.fromkeys([*rules.traits("strong"), *rules.traits("taste")]))
    every = list(dict.fromkeys([*strong, *rules.traits("weak")]))
    if base is None:
        options = [_capitalised(" · ".join(every[:k])) for k in (2, 3) if len(every) >= k]
        return options or [_capitalised(every[0]) if every else "All customers"]
    options = [f"{base} · {strong[0]}" if strong else base]
    options += [f"{base} · {' · '.join(every[:k])}" for k in (1, 2, 3) if len(every) >= k]
    return list(dict.fromkeys(options))


def name_segments(rules: dict[int, SegmentRules]) -> dict[int, str]:
    """A unique name per segment id, from each segment's evaluated rules."""
    candidates = {segment: _options(item) for segment, item in rules.items()}
    names = {segment: options[0] for segment, options in candidates.items()}
    # Resolve clashes: longer options first, then a number.
    for _ in range(3):
        clashes = _clashing(names)
        if not clashes:
            break
        for segment in clashes:
            options = candidates[segment]
            position = options.index(names[segment]) if names[segment] in options else 0
            if position + 1 < len(options):
                names[segment] = options[position + 1]
    seen: dict[str, int] = {}
    for segment in sorted(names):
        name = names[segment]
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[segment] = f"{name} ({seen[name]})"
    return names


def _clashing(names: dict[int, str]) -> list[int]:
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return [segment for segment, name in names.items() if counts[name] > 1]
