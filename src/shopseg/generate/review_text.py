"""Review texts for a synthetic shop, varied by product category and sentiment.

Reviews carry the taste signal in words: an outdoor enthusiast writes about durability, trails
and rain, a beauty lover about scent, skin and texture. A review is an opener, one or two
aspect sentences specific to the product's category, and an optional closer, each drawn from a
pool for the review's sentiment (ratings 1-2 negative, 3 mixed, 4-5 positive), with the
product's noun filled in. The pools multiply into tens of thousands of distinct texts, so
reviews are varied without any language model, and every text is built with vectorised
pyarrow kernels (:func:`~shopseg.generate.catalogue.fill_templates`).

Template fields: ``{noun}`` (the product noun in lower case, "hiking boots"), ``{this}``
("this"/"these") and ``{is}`` ("is"/"are"), so that plural nouns read correctly.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from shopseg.generate.catalogue import (
    CATEGORY_NAMES,
    block_starts,
    fill_templates,
    join_sentences,
    keep_where,
    pick_in_groups,
)

NEGATIVE, MIXED, POSITIVE = 0, 1, 2
#: Chance of a second aspect sentence (always present in mixed reviews) and of a closer.
SECOND_ASPECT = 0.5
CLOSER = 0.7

OPENERS: dict[int, tuple[str, ...]] = {
    POSITIVE: (
        "Absolutely love {this} {noun}!",
        "Really happy with this purchase.",
        "Exceeded my expectations.",
        "Great {noun} for the price.",
        "Better than I hoped.",
        "Second time buying {this} {noun}.",
        "Excellent quality.",
        "Highly recommend {this} {noun}.",
    ),
    MIXED: (
        "It's okay.",
        "Decent {noun}, but not perfect.",
        "Mixed feelings about {this} {noun}.",
        "Does the job, mostly.",
        "Average for the price.",
        "Some good points, some bad.",
        "Not bad, not great.",
    ),
    NEGATIVE: (
        "Really disappointed with {this} {noun}.",
        "Would not recommend.",
        "Waste of money.",
        "Sadly this did not work out.",
        "Not as described.",
        "Very poor quality.",
        "I regret buying {this} {noun}.",
    ),
}

CLOSERS: dict[int, tuple[str, ...]] = {
    POSITIVE: (
        "Would buy again.",
        "Already ordered another as a gift.",
        "Fast delivery too.",
        "Recommended!",
        "Worth every penny.",
        "Will be back for more.",
    ),
    MIXED: (
        "Might keep it, might not.",
        "Fine if it's on sale.",
        "Could be better.",
        "Three stars.",
        "Expected a bit more.",
    ),
    NEGATIVE: (
        "Returning it.",
        "Asked for a refund.",
        "Avoid.",
        "Customer service was no help either.",
        "Back in the box it goes.",
        "Save your money.",
    ),
}

#: Aspect sentences per category: (praise, complaints).
ASPECTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "outdoor": (
        (
            "Stayed completely dry through a full day of rain on the trail.",
            "The {noun} {is} really durable, no wear after months of hiking.",
            "Light enough that I forgot it was in my pack.",
            "Survived a muddy week of trekking in the mountains.",
            "Properly waterproof, the seams held up in a downpour.",
            "Tough stitching and solid zips, built for the trail.",
        ),
        (
            "Leaked at the seams the first time it rained.",
            "Not waterproof at all, despite what the listing says.",
            "The {noun} started falling apart after two hikes.",
            "Far heavier than advertised, a pain on long trails.",
            "The zip broke on the first camping trip.",
            "Stitching came loose after one weekend on the trail.",
        ),
    ),
    "beauty": (
        (
            "The scent is light and fresh, not overpowering.",
            "My skin feels softer and calmer after a week.",
            "Lovely silky texture that absorbs in seconds.",
            "No breakouts, even on my sensitive skin.",
            "A little goes a long way, and my complexion looks brighter.",
            "Smells amazing and leaves my skin glowing.",
        ),
        (
            "The fragrance is far too strong and synthetic.",
            "Broke my skin out within two days.",
            "Greasy texture that never really sinks in.",
            "Made my skin red and itchy.",
            "The {noun} dried my skin out badly.",
            "Separated in the bottle and the texture feels gritty.",
        ),
    ),
    "electronics": (
        (
            "Battery easily lasts a full week of commuting.",
            "Paired with my phone in seconds.",
            "Sound quality is crisp with surprisingly deep bass.",
            "Charges fast and the build feels premium.",
            "The {noun} {is} painless to set up, no driver hassle.",
            "The connection never drops, even across the flat.",
        ),
        (
            "The battery dies after a couple of hours.",
            "Keeps disconnecting from my laptop.",
            "The {noun} stopped charging after three weeks.",
            "The firmware is buggy and the app crashes constantly.",
            "Tinny sound with a noticeable hiss.",
            "Gets uncomfortably hot while charging.",
        ),
    ),
    "home & kitchen": (
        (
            "Heats evenly and nothing sticks.",
            "Well balanced and comfortable to cook with.",
            "Cleans up in seconds in the dishwasher.",
            "The {noun} {is} solid and looks great on the counter.",
            "Made my weekly meal prep so much easier.",
            "Sturdy, heavy and clearly built to last.",
        ),
        (
            "The coating started peeling after a month.",
            "Rusted after the first wash.",
            "Wobbly and feels cheap in the hand.",
            "The {noun} arrived dented and the lid doesn't fit.",
            "Food sticks no matter how much oil I use.",
            "The motor is loud and smells of burning.",
        ),
    ),
    "fashion": (
        (
            "Fits true to size and the fabric is soft.",
            "The colour is exactly as pictured.",
            "Washed it several times and it still looks new.",
            "Flattering cut, I get compliments every time.",
            "Comfortable enough to wear all day.",
            "The {noun} {is} well made with neat stitching.",
        ),
        (
            "Runs two sizes small.",
            "The colour faded after the first wash.",
            "The fabric is thin and see-through.",
            "Seams started unravelling within a week.",
            "The {noun} looked nothing like the photos.",
            "Shrank badly in a cool wash.",
        ),
    ),
    "books": (
        (
            "Couldn't put it down, finished it in two evenings.",
            "Beautifully written with characters I cared about.",
            "The illustrations are gorgeous.",
            "Clear, practical and easy to follow.",
            "A lovely edition that will stay on my shelf.",
            "Learned something on every page.",
        ),
        (
            "Slow plot and flat characters.",
            "Pages arrived creased and the spine was cracked.",
            "Full of typos and clumsy writing.",
            "Far too basic, nothing I didn't already know.",
            "The ending made no sense.",
            "The print is tiny and hard to read.",
        ),
    ),
    "toys": (
        (
            "My kids play with it every single day.",
            "Sturdy enough to survive our toddler.",
            "Kept the children busy for hours on a rainy afternoon.",
            "Bright colours and no sharp edges.",
            "Great for learning, my daughter loves it.",
            "The {noun} {is} a huge hit with the grandchildren.",
        ),
        (
            "Broke within an hour of opening.",
            "Pieces were missing from the box.",
            "The paint chipped off almost immediately.",
            "Too fiddly for the age range on the box.",
            "The {noun} {is} much smaller than pictured.",
            "Batteries not included, and it eats them.",
        ),
    ),
    "sports": (
        (
            "Great grip even during sweaty workouts.",
            "Comfortable on long runs, no blisters.",
            "Feels solid and stable under heavy lifts.",
            "Perfect for my morning training sessions.",
            "Lightweight and dries quickly after the gym.",
            "The {noun} made my workouts more fun.",
        ),
        (
            "Started slipping after a few sessions.",
            "The material tore during my second workout.",
            "Too stiff and uncomfortable for running.",
            "Smells strongly of rubber even after airing.",
            "The {noun} {is} too flimsy for serious training.",
            "The sizing is off and it rubs.",
        ),
    ),
    "grocery": (
        (
            "Rich flavour, the best I've tasted in a while.",
            "Fresh, aromatic and well packed.",
            "Great value for the quality.",
            "My whole family loves it.",
            "Perfect with breakfast every morning.",
            "The {noun} tastes genuinely natural.",
        ),
        (
            "Tasted stale and bitter.",
            "Arrived past its best-before date.",
            "The bag was split open on arrival.",
            "Bland, with no real flavour.",
            "Much too sweet for my taste.",
            "The {noun} had a strange aftertaste.",
        ),
    ),
    "garden": (
        (
            "Survived a whole winter outside without rusting.",
            "My plants are thriving since I started using it.",
            "Comfortable to use for hours in the garden.",
            "Easy to assemble and looks lovely on the patio.",
            "Sturdy and weatherproof, exactly as described.",
            "The {noun} made gardening on the balcony a joy.",
        ),
        (
            "Rusted after a few weeks of rain.",
            "Leaks at the connector.",
            "The plastic cracked in the first frost.",
            "The blades went blunt after one season.",
            "The {noun} blew over in the first storm.",
            "Flimsy, and bent under light use.",
        ),
    ),
}


def sentiment_of(rating: np.ndarray) -> np.ndarray:
    """Negative for ratings 1-2, mixed for 3, positive for 4-5."""
    return np.select([rating <= 2, rating == 3], [NEGATIVE, MIXED], POSITIVE)


def flatten(pools: list[tuple[str, ...]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """One flat template list with each pool's start and size, for :func:`pick_in_groups`."""
    sizes = np.array([len(pool) for pool in pools])
    return [template for pool in pools for template in pool], block_starts(sizes), sizes


SENTIMENTS = (NEGATIVE, MIXED, POSITIVE)
OPENER_TEMPLATES, OPENER_START, OPENER_SIZE = flatten([OPENERS[s] for s in SENTIMENTS])
CLOSER_TEMPLATES, CLOSER_START, CLOSER_SIZE = flatten([CLOSERS[s] for s in SENTIMENTS])
# Category c's praise is aspect group 2 * c, its complaints group 2 * c + 1.
ASPECT_TEMPLATES, ASPECT_START, ASPECT_SIZE = flatten([pool for name in CATEGORY_NAMES for pool in ASPECTS[name]])


def aspect_group(category_index: np.ndarray, praise: np.ndarray) -> np.ndarray:
    """Group number of the aspect pool for a category and polarity (praise or complaint)."""
    return 2 * category_index + np.where(praise, 0, 1)


def second_aspect(rng: np.random.Generator, first: np.ndarray, group: np.ndarray, same_group: np.ndarray) -> np.ndarray:
    """A second aspect sentence: from the first's pool but never the same sentence, or
    (where ``same_group`` is false, as in mixed reviews) from the complaints pool."""
    size = ASPECT_SIZE[group]
    offset = first - ASPECT_START[group]
    other = (offset + 1 + (rng.random(len(first)) * (size - 1)).astype(np.int64)) % size
    complaint = pick_in_groups(rng, 2 * (group // 2) + 1, ASPECT_START, ASPECT_SIZE)
    return np.where(same_group, ASPECT_START[group] + other, complaint)


def compose_reviews(
    rng: np.random.Generator,
    category_index: np.ndarray,
    rating: np.ndarray,
    noun: pa.Array,
    plural: np.ndarray,
) -> pa.Array:
    """Review texts, one per row, for products of ``category_index`` (into
    :data:`~shopseg.generate.catalogue.CATEGORIES`) rated ``rating`` (1-5); ``noun`` is the
    product noun in lower case and ``plural`` whether it is plural."""
    count = len(rating)
    sentiment = sentiment_of(rating)
    fields = {
        "noun": noun,
        "this": pa.array(np.where(plural, "these", "this")),
        "is": pa.array(np.where(plural, "are", "is")),
    }
    opener = pick_in_groups(rng, sentiment, OPENER_START, OPENER_SIZE)
    group = aspect_group(category_index, sentiment != NEGATIVE)
    first = pick_in_groups(rng, group, ASPECT_START, ASPECT_SIZE)
    second = second_aspect(rng, first, group, sentiment != MIXED)
    closer = pick_in_groups(rng, sentiment, CLOSER_START, CLOSER_SIZE)
    with_second = (sentiment == MIXED) | (rng.random(count) < SECOND_ASPECT)
    return join_sentences(
        fill_templates(OPENER_TEMPLATES, opener, fields),
        fill_templates(ASPECT_TEMPLATES, first, fields),
        keep_where(fill_templates(ASPECT_TEMPLATES, second, fields), with_second),
        keep_where(pa.array(CLOSER_TEMPLATES).take(closer), rng.random(count) < CLOSER),
    )
