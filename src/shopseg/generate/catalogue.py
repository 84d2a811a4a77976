"""The product catalogue of a synthetic shop, and the text tools the generator shares.

A generated shop needs products whose titles and descriptions read like a real shop's, so
that text encoders have something meaningful to embed and so that two segments that differ
only in taste (what they buy, search and write about) are separable by text alone. Each
category therefore has its own vocabulary: brand-like names, adjectives, variants and product
nouns ("Trailblazer Waterproof Alpine Hiking Boots", "Lumière Hydrating Rose Face Serum"),
selling points for descriptions, and search phrases for browsing sessions.

Prices are log-normal per category. They are drawn by stratified quantiles rather than
independently, so a small catalogue already follows its category's distribution closely;
this keeps the planted taste-only segments equal in spending, as they are meant to be.

Text is composed with pyarrow compute kernels (:func:`fill_templates`), so building millions
of review texts or ids costs a few vectorised passes, never a Python loop per row.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shopseg.schema import CATEGORY, DESCRIPTION, PRICE, PRODUCT_ID, TITLE

#: Fewest and most products a generated catalogue has; in between it grows with the shop.
MIN_PRODUCTS = 200
MAX_PRODUCTS = 2000
#: Customers per product when sizing the catalogue between those bounds.
CUSTOMERS_PER_PRODUCT = 50
#: Chance that a title carries a variant word ("Rose", "Navy", "Pro") before its noun.
VARIANT_IN_TITLE = 0.6
#: Chance that a description has its second (category selling point) and third (shop) sentence.
PITCH_IN_DESCRIPTION = 0.85
SERVICE_IN_DESCRIPTION = 0.5


@dataclass(frozen=True)
class CategoryVocabulary:
    """Words and prices of one product category.

    Word lists are written as comma-separated text (see :func:`words`).
    ``popularity`` is the category's share of purchases by a customer without a marked taste;
    prices are log-normal with median ``price_median`` and log standard deviation
    ``price_spread``. ``pitches`` are description sentences, ``queries`` hand-written search
    phrases (more are derived from adjectives and nouns).
    """

    name: str
    popularity: float
    price_median: float
    price_spread: float
    brands: tuple[str, ...]
    adjectives: tuple[str, ...]
    variants: tuple[str, ...]
    nouns: tuple[str, ...]
    pitches: tuple[str, ...]
    queries: tuple[str, ...]


def words(text: str) -> tuple[str, ...]:
    """The comma-separated entries of ``text``: compact source for long word lists."""
    return tuple(word.strip() for word in text.split(","))


# Outdoor, beauty and home & kitchen share one price distribution on purpose: the planted
# taste-only segments favour them, and equal prices keep those segments' spending equal.
CATEGORIES: tuple[CategoryVocabulary, ...] = (
    CategoryVocabulary(
        name="outdoor",
        popularity=0.08,
        price_median=35.0,
        price_spread=0.6,
        brands=words("Trailblazer, Summit Ridge, Northpeak, Wildpath, Cascadia, Ironbark, Timberline, Alpenglow"),
        adjectives=words(
            "Waterproof, Ultralight, Insulated, Rugged, Packable, All-Weather, Breathable, "
            "Windproof, Compact, Trail-Ready"
        ),
        variants=words("Alpine, Expedition, Trek, Basecamp, Storm, Backcountry"),
        nouns=words(
            "Hiking Boots, Tent, Sleeping Bag, Backpack, Rain Jacket, Trekking Poles, Headlamp, "
            "Water Bottle, Camping Stove, Hammock, Trail Shoes, Fleece Jacket"
        ),
        pitches=(
            "Built for long days on the trail and wet weather.",
            "Seam-sealed construction keeps rain and snow out.",
            "Weighs next to nothing in your pack.",
            "Tested on alpine routes from early spring to late autumn.",
            "Reinforced stitching stands up to rocks and roots.",
            "Packs down small for fast and light trips.",
        ),
        queries=words(
            "waterproof hiking boots, 2 person tent, lightweight backpack 40l, rain jacket men, "
            "camping gear, trail running shoes, winter sleeping bag, rechargeable headlamp"
        ),
    ),
    CategoryVocabulary(
        name="beauty",
        popularity=0.1,
        price_median=35.0,
        price_spread=0.6,
        brands=words("Lumière, Velour, Aurelia, Bloom & Dew, Maison Clair, Petalis, Serenea, Opaline"),
        adjectives=words(
            "Hydrating, Nourishing, Brightening, Soothing, Gentle, Radiant, Firming, Clarifying, Silky, Revitalising"
        ),
        variants=words("Rose, Vitamin C, Green Tea, Lavender, Hyaluronic, Shea Butter"),
        nouns=words(
            "Face Serum, Night Cream, Cleanser, Body Lotion, Face Mask, Eye Cream, Lip Balm, "
            "Toner, Shampoo, Hand Cream, Body Wash, Facial Oil"
        ),
        pitches=(
            "Absorbs quickly and leaves skin soft, never greasy.",
            "Dermatologist tested and suitable for sensitive skin.",
            "A light, natural scent that fades gently through the day.",
            "Free from parabens and synthetic dyes.",
            "Visibly smoother texture after two weeks of daily use.",
            "Use morning and evening on clean skin.",
        ),
        queries=words(
            "face serum for dry skin, vitamin c serum, anti aging night cream, "
            "gentle cleanser sensitive skin, rose body lotion, hyaluronic acid, tinted lip balm, "
            "fragrance free moisturiser"
        ),
    ),
    CategoryVocabulary(
        name="electronics",
        popularity=0.14,
        price_median=60.0,
        price_spread=0.8,
        brands=words("Voltix, Nexora, Auralink, Quantix, Pixelon, Soniq, Corewave, Brightcell"),
        adjectives=words(
            "Wireless, Smart, Portable, Noise-Cancelling, Ultra-Slim, Fast-Charging, Bluetooth, "
            "Compact, High-Resolution, Rechargeable"
        ),
        variants=words("Pro, Max, Mini, Lite, Plus, Air"),
        nouns=words(
            "Headphones, Earbuds, Speaker, Smartwatch, Power Bank, Action Camera, Keyboard, Mouse, "
            "Tablet Stand, USB-C Hub, Webcam, E-Reader"
        ),
        pitches=(
            "Up to 30 hours of battery life on a single charge.",
            "Pairs instantly with phones, tablets and laptops.",
            "Crisp, balanced sound with deep bass.",
            "Charges from empty to full in under two hours.",
            "A solid aluminium body that fits in a pocket.",
            "Includes a USB-C cable and a two-year warranty.",
        ),
        queries=words(
            "wireless earbuds, noise cancelling headphones, waterproof bluetooth speaker, "
            "power bank 20000mah, fitness smartwatch, usb c hub, webcam 1080p, mechanical keyboard"
        ),
    ),
    CategoryVocabulary(
        name="home & kitchen",
        popularity=0.13,
        price_median=35.0,
        price_spread=0.6,
        brands=words("Hearthstone, Copperleaf, Casa Verde, Oakhaven, Kitchenary, Nordhus, Saltmarsh, Ember & Oak"),
        adjectives=words(
            "Professional, Everyday, Non-Stick, Stainless Steel, Ceramic, Bamboo, Heavy-Duty, "
            "Stackable, Handcrafted, Enamelled"
        ),
        variants=words("Artisan, Family-Size, Heritage, Deluxe, Rustic, Chef's"),
        nouns=words(
            "Frying Pan, Knife Set, Dutch Oven, Cutting Board, Blender, Coffee Grinder, "
            "Mixing Bowls, Storage Jars, Kettle, Baking Tray, Saucepan, French Press"
        ),
        pitches=(
            "Heats evenly for perfect searing and simmering.",
            "Goes straight from stove to oven to table.",
            "Easy to clean and built to last for years.",
            "Balanced and comfortable in the hand.",
            "Keeps ingredients fresh for longer.",
            "Works on gas, electric and induction hobs.",
        ),
        queries=words(
            "non stick frying pan, kitchen knife set, cast iron dutch oven, bamboo cutting board, "
            "blender for smoothies, coffee grinder, food storage jars, electric kettle"
        ),
    ),
    CategoryVocabulary(
        name="fashion",
        popularity=0.14,
        price_median=40.0,
        price_spread=0.6,
        brands=words("Urbanthread, Kestrel & Co, Linnea, Northwind, Fable Row, Arlo Vance, Studio Sable, Maison Verre"),
        adjectives=words(
            "Slim-Fit, Relaxed, Organic Cotton, Linen, Cashmere-Blend, Classic, Oversized, "
            "Stretch, Tailored, Vintage-Wash"
        ),
        variants=words("Navy, Black, Olive, Charcoal, Sand, Burgundy"),
        nouns=words(
            "Chinos, T-Shirt, Sweater, Dress, Jeans, Blazer, Hoodie, Shirt, Skirt, Trench Coat, Sneakers, Scarf"
        ),
        pitches=(
            "Cut from soft, breathable fabric for all-day comfort.",
            "A wardrobe staple that dresses up or down.",
            "True to size with a modern fit.",
            "Machine washable and keeps its shape.",
            "Sustainably made from certified organic fibres.",
            "Finished with subtle details you notice up close.",
        ),
        queries=words(
            "linen shirt men, summer dress, slim fit jeans, cashmere sweater, white sneakers, "
            "oversized hoodie, trench coat women, black blazer"
        ),
    ),
    CategoryVocabulary(
        name="books",
        popularity=0.1,
        price_median=14.0,
        price_spread=0.45,
        brands=words(
            "Penrose Press, Inkwell, Marigold Books, Lanternfish, Quillstone, Bramble House, Harbor Lane, Owl & Ember"
        ),
        adjectives=words(
            "Illustrated, Bestselling, Complete, Pocket, Award-Winning, Beginner's, Essential, Definitive"
        ),
        variants=words("Hardcover, Paperback, Annotated, Large Print, Collector's"),
        nouns=words(
            "Cookbook, Mystery Novel, Field Guide to Birds, History of Rome, Fantasy Trilogy, "
            "Guide to Sourdough, Picture Book, Poetry Collection, Biography, "
            "Travel Guide to Japan, Sci-Fi Anthology, Gardening Handbook"
        ),
        pitches=(
            "A page-turner readers finish in a single weekend.",
            "Beautifully illustrated throughout.",
            "Written in clear, friendly language for every level.",
            "Includes maps, notes and a full index.",
            "A perfect gift for curious readers.",
            "Praised by critics for its warmth and wit.",
        ),
        queries=words(
            "mystery novel, sourdough book, fantasy trilogy, bird field guide, japan travel guide, "
            "picture book toddlers, biography, poetry collection"
        ),
    ),
    CategoryVocabulary(
        name="toys",
        popularity=0.08,
        price_median=25.0,
        price_spread=0.6,
        brands=words("Wobblewood, Brickly, Tiny Titans, Funfair, Puzzleberry, Kitekin, Marble Moon, Playhaven"),
        adjectives=words("Wooden, Magnetic, Educational, Glow-in-the-Dark, Remote-Control, Musical, Colourful, Giant"),
        variants=words("Dino, Space, Jungle, Ocean, Castle, Robot"),
        nouns=words(
            "Building Blocks, Puzzle, Train Set, Teddy Bear, Race Car, Doll House, Board Game, "
            "Kite, Craft Kit, Stacking Rings, Science Kit, Marble Run"
        ),
        pitches=(
            "Keeps little hands busy for hours.",
            "Made from non-toxic, child-safe materials.",
            "Encourages creativity and problem solving.",
            "Recommended for ages 3 and up.",
            "Sturdy enough for rough play.",
            "Packs away neatly in its own box.",
        ),
        queries=words(
            "wooden toys toddler, building blocks, family board game, marble run, "
            "science kit kids, remote control car, doll house, puzzle 1000 pieces"
        ),
    ),
    CategoryVocabulary(
        name="sports",
        popularity=0.08,
        price_median=35.0,
        price_spread=0.7,
        brands=words("Stride, Apex Motion, Pulsefit, Ironclad Athletics, Velocita, Coreline, Fastlane, Kinetica"),
        adjectives=words("Lightweight, Cushioned, Adjustable, Non-Slip, Quick-Dry, Pro-Grade, Compression, Foldable"),
        variants=words("Training, Performance, Elite, Studio, Marathon, Power"),
        nouns=words(
            "Running Shoes, Yoga Mat, Dumbbells, Resistance Bands, Tennis Racket, Football, "
            "Cycling Jersey, Gym Bag, Jump Rope, Kettlebell, Swim Goggles, Foam Roller"
        ),
        pitches=(
            "Designed with athletes for serious training.",
            "A grippy surface for stable footing during every rep.",
            "Sweat-wicking fabric keeps you cool.",
            "Adjusts in seconds to suit your workout.",
            "Built to survive daily use at the gym.",
            "Folds flat for easy storage at home.",
        ),
        queries=words(
            "thick yoga mat, adjustable dumbbells, running shoes women, resistance bands set, "
            "tennis racket, foam roller, gym bag, kettlebell 12kg"
        ),
    ),
    CategoryVocabulary(
        name="grocery",
        popularity=0.1,
        price_median=9.0,
        price_spread=0.5,
        brands=words(
            "Golden Harvest, Mill & Meadow, Terra Verde, Honeycomb Farm, Saltwind, Orchard Lane, "
            "Wildroot, Copper Kettle"
        ),
        adjectives=words("Organic, Fair Trade, Stone-Ground, Cold-Pressed, Roasted, Wholegrain, Raw, Single-Origin"),
        variants=words("Dark, Sea Salt, Spiced, Maple, Vanilla, Smoked"),
        nouns=words(
            "Coffee Beans, Olive Oil, Granola, Honey, Green Tea, Chocolate, Pasta, Peanut Butter, "
            "Rice, Oat Milk, Spice Mix, Almonds"
        ),
        pitches=(
            "Sourced directly from small family farms.",
            "No added sugar and no artificial flavours.",
            "Rich, full flavour in every bite.",
            "Packed in a resealable bag to stay fresh.",
            "A pantry favourite for quick weekday meals.",
            "Certified organic and sustainably grown.",
        ),
        queries=words(
            "organic coffee beans, extra virgin olive oil, granola no sugar, dark chocolate 70, "
            "green tea, crunchy peanut butter, basmati rice, oat milk"
        ),
    ),
    CategoryVocabulary(
        name="garden",
        popularity=0.05,
        price_median=30.0,
        price_spread=0.7,
        brands=words("Greenthumb, Fernhollow, Rootwell, Bloomfield, Mossgate, Sunpatch, Thistledown, Willowmere"),
        adjectives=words(
            "Galvanised, Rust-Resistant, Ergonomic, Self-Watering, Solar-Powered, Weatherproof, Expandable, Heavy-Duty"
        ),
        variants=words("Cedar, Terracotta, Cottage, Meadow, Copper, Patio"),
        nouns=words(
            "Pruning Shears, Garden Hose, Raised Bed, Watering Can, Planter, Bird Feeder, "
            "Seed Starter Kit, Compost Bin, Garden Gloves, String Lights, Trowel, Wheelbarrow"
        ),
        pitches=(
            "Stands up to sun, frost and rain season after season.",
            "Makes weekend gardening easier on your hands and back.",
            "Perfect for balconies, patios and small gardens.",
            "Helps seedlings get off to a strong start.",
            "Assembles in minutes without tools.",
            "Adds a warm glow to the garden after dark.",
        ),
        queries=words(
            "pruning shears, raised garden bed, expandable hose, solar garden lights, "
            "terracotta pots, bird feeder, compost bin, garden gloves"
        ),
    ),
)

CATEGORY_NAMES: tuple[str, ...] = tuple(category.name for category in CATEGORIES)

#: First description sentence; fields come from the product's own words.
INTRODUCTIONS = (
    "{adjective} {noun_lower} by {brand}.",
    "Meet the {brand} {noun_lower}: {adjective_lower} and ready for everyday use.",
    "{brand_possessive} {adjective_lower} {noun_lower}, a customer favourite.",
    "The {adjective_lower} {noun_lower} from {brand_possessive} {variant_lower} range.",
)
#: Optional last description sentence about the shop rather than the product.
SERVICE_NOTES = (
    "Ships within two working days.",
    "Comes with a 30-day return promise.",
    "Backed by a two-year warranty.",
    "Free delivery on orders over 50.",
    "Packed in recyclable materials.",
)


@dataclass(frozen=True)
class Catalogue:
    """A generated catalogue, kept in *pick order* for fast sampling.

    Arrays are in pick order: grouped by category (in :data:`CATEGORIES` order) and cheapest
    first within a category, so products of category ``c`` at price quantile ``q`` sit at
    ``category_start[c] + floor(q * category_size[c])``. ``products`` is the public table,
    sorted by product id (ids are assigned at random so they reveal neither category nor
    price). ``queries`` holds every category's search phrases, category ``c`` at
    ``query_start[c]`` onwards.
    """

    products: pd.DataFrame
    product_ids: pa.Array
    prices: np.ndarray
    category_index: np.ndarray
    nouns: pa.Array
    plural: np.ndarray
    category_start: np.ndarray
    category_size: np.ndarray
    queries: pa.Array
    query_start: np.ndarray
    query_size: np.ndarray


# --- composing text from template pools ----------------------------------------------------


def fill_templates(templates: Sequence[str], choice: np.ndarray, fields: Mapping[str, pa.Array]) -> pa.Array:
    """Row ``i`` is ``templates[choice[i]]`` with each ``{name}`` replaced by ``fields[name][i]``.

    Templates are split once into literal pieces and field slots; the rows are then built
    column by column with pyarrow kernels (take, choose, join), so the cost is a few
    vectorised passes over the rows whatever their number.
    """
    parsed = [list(string.Formatter().parse(template)) for template in templates]
    names = sorted({name for parts in parsed for _, name, _, _ in parts if name})
    missing = set(names) - set(fields)
    if missing:
        raise KeyError(f"templates use fields {sorted(missing)} that were not given")
    rows = pa.array(choice, type=pa.int64())
    empty = pa.repeat("", len(choice))
    slot_values = [empty, *(fields[name] for name in names)]
    pieces = []
    for position in range(max(len(parts) for parts in parsed)):
        literals = [parts[position][0] if position < len(parts) else "" for parts in parsed]
        pieces.append(pa.array(literals).take(rows))
        slots = [
            names.index(parts[position][1]) + 1 if position < len(parts) and parts[position][1] else 0
            for parts in parsed
        ]
        if any(slots):
            pieces.append(pc.choose(pa.array(slots).take(rows), *slot_values))
    return pc.binary_join_element_wise(*pieces, "")


def join_sentences(*sentences: pa.Array) -> pa.Array:
    """Join sentence columns with a space, skipping missing (null) sentences."""
    return pc.binary_join_element_wise(*sentences, " ", null_handling="skip")


def keep_where(values: pa.Array, present: np.ndarray) -> pa.Array:
    """``values`` where ``present`` is true, null elsewhere (an optional sentence)."""
    return pc.if_else(pa.array(present), values, pa.nulls(len(values), pa.string()))


def block_starts(sizes: np.ndarray) -> np.ndarray:
    """Where each block begins when blocks of ``sizes`` are laid end to end."""
    return np.cumsum(sizes) - sizes


def pick_in_groups(rng: np.random.Generator, group: np.ndarray, start: np.ndarray, size: np.ndarray) -> np.ndarray:
    """For each row, a uniformly random index into its group's block ``start .. start+size``."""
    return start[group] + (rng.random(len(group)) * size[group]).astype(np.int64)


def format_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Ids like ``P00042``: ``prefix`` and the number zero-padded to at least ``width`` digits."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


# --- the catalogue -----------------------------------------------------------------------------


def product_count(n_customers: int) -> int:
    """How many products a shop of ``n_customers`` sells (200 to 2000, one per 50 customers)."""
    return int(np.clip(n_customers // CUSTOMERS_PER_PRODUCT, MIN_PRODUCTS, MAX_PRODUCTS))


def is_plural(noun: str) -> bool:
    """Whether a product noun is plural ("Hiking Boots", "Jeans"), but not "Dress" or "Press"."""
    return noun.endswith("s") and not noun.endswith("ss")


def category_sizes(n_products: int) -> np.ndarray:
    """Products per category, in proportion to popularity, at least 10 each, summing exactly."""
    popularity = np.array([category.popularity for category in CATEGORIES])
    base = np.full(len(CATEGORIES), 10)
    return base + allocate(n_products - base.sum(), popularity)


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    exact = total * weights / weights.sum()
    parts = np.floor(exact).astype(np.int64)
    shortfall = total - parts.sum()
    parts[np.argsort(parts - exact, kind="stable")[:shortfall]] += 1
    return parts


def stratified_prices(rng: np.random.Generator, median: float, spread: float, count: int) -> np.ndarray:
    """``count`` log-normal prices, one per equal-probability stratum, cheapest first.

    Shop-like endings: ``.99`` above 5, otherwise rounded to 10 cents.
    """
    quantiles = (np.arange(count) + rng.random(count)) / count
    normal = np.array([NormalDist().inv_cdf(q) for q in quantiles])
    raw = median * np.exp(spread * normal)
    return np.where(raw >= 5.0, np.floor(raw) + 0.99, np.maximum(np.round(raw, 1), 0.5))


def product_words(rng: np.random.Generator, category: CategoryVocabulary, count: int) -> dict[str, np.ndarray]:
    """Distinct (brand, adjective, variant or none, noun) combinations for ``count`` products."""
    shape = (len(category.brands), len(category.adjectives), len(category.variants) + 1)
    shape = (*shape, len(category.nouns))
    combination = rng.choice(int(np.prod(shape)), size=count, replace=False)
    brand, adjective, variant, noun = np.unravel_index(combination, shape)
    variant = np.where(rng.random(count) < VARIANT_IN_TITLE, variant, len(category.variants))
    return {"brand": brand, "adjective": adjective, "variant": variant, "noun": noun}


def possessive(names: pa.Array) -> pa.Array:
    """The possessive of each name: "Voltix's", but "Marigold Books'"."""
    apostrophe = pc.if_else(pc.ends_with(names, "s"), "'", "'s")
    return pc.binary_join_element_wise(names, apostrophe, "")


def category_table(rng: np.random.Generator, category: CategoryVocabulary, count: int) -> pa.Table:
    """Title, description, price and noun of ``count`` products of one category, cheapest first."""
    words = product_words(rng, category, count)
    brand = pa.array(category.brands).take(words["brand"])
    adjective = pa.array(category.adjectives).take(words["adjective"])
    variant = pa.array([*category.variants, None]).take(words["variant"])
    noun = pa.array(category.nouns).take(words["noun"])
    title = join_sentences(brand, adjective, variant, noun)
    fields = {
        "brand": brand,
        "brand_possessive": possessive(brand),
        "adjective": adjective,
        "adjective_lower": pc.utf8_lower(adjective),
        "noun_lower": pc.utf8_lower(noun),
        "variant_lower": pc.utf8_lower(pc.fill_null(variant, "signature")),
    }
    introduction = fill_templates(INTRODUCTIONS, rng.integers(len(INTRODUCTIONS), size=count), fields)
    pitch = pa.array(category.pitches).take(rng.integers(len(category.pitches), size=count))
    service = pa.array(SERVICE_NOTES).take(rng.integers(len(SERVICE_NOTES), size=count))
    description = join_sentences(
        introduction,
        keep_where(pitch, rng.random(count) < PITCH_IN_DESCRIPTION),
        keep_where(service, rng.random(count) < SERVICE_IN_DESCRIPTION),
    )
    return pa.table(
        {
            TITLE: title,
            DESCRIPTION: description,
            CATEGORY: pa.repeat(category.name, count),
            PRICE: stratified_prices(rng, category.price_median, category.price_spread, count),
            "noun": pc.utf8_lower(noun),
            "plural": pa.array([is_plural(word) for word in category.nouns]).take(words["noun"]),
        }
    )


def query_pool(category: CategoryVocabulary) -> list[str]:
    """Search phrases for a category: hand-written ones, nouns, and adjective + noun pairs."""
    nouns = [noun.lower() for noun in category.nouns]
    pairs = [f"{adjective.lower()} {noun}" for adjective in category.adjectives[:4] for noun in nouns]
    return [*category.queries, *nouns, *pairs]


def build_catalogue(rng: np.random.Generator, n_products: int) -> Catalogue:
    """Generate ``n_products`` products (at least :data:`MIN_PRODUCTS`) and the search phrases."""
    sizes = category_sizes(max(n_products, MIN_PRODUCTS))
    tables = [category_table(rng, category, int(size)) for category, size in zip(CATEGORIES, sizes, strict=True)]
    table = pa.concat_tables(tables)
    total = table.num_rows
    product_ids = format_ids("P", rng.permutation(total) + 1, 5)
    public = pa.table(
        {
            PRODUCT_ID: product_ids,
            **{name: table[name] for name in (TITLE, DESCRIPTION, CATEGORY, PRICE)},
        }
    )
    products = public.to_pandas().sort_values(PRODUCT_ID, kind="stable", ignore_index=True)
    pools = [query_pool(category) for category in CATEGORIES]
    query_size = np.array([len(pool) for pool in pools])
    return Catalogue(
        products=products,
        product_ids=product_ids,
        prices=table[PRICE].to_numpy(),
        category_index=np.repeat(np.arange(len(CATEGORIES)), sizes),
        nouns=table["noun"].combine_chunks(),
        plural=table["plural"].to_numpy(),
        category_start=block_starts(sizes),
        category_size=sizes,
        queries=pa.array([query for pool in pools for query in pool]),
        query_start=block_starts(query_size),
        query_size=query_size,
    )
