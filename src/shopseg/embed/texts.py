"""The texts a shop has about its products and from its customers, as small tables.

* :func:`product_texts` -- one text per product: title, description and category from the
  product table; for shops without a catalogue (Online Retail II and most exports), the
  description written most often on the product's order lines
  (:func:`~shopseg.ingest.load.products_from_order_lines`), so taste is found all the same.
  Products the catalogue has no text for also fall back to their order-line description.
* :func:`review_texts` -- reviews with a text: customer, text and rating.
* :func:`search_texts` -- search queries from the events table: customer and query.

Pure functions of canonical tables (see :mod:`shopseg.schema`); empty texts are dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.embed.embedding import normalise_texts
from shopseg.ingest.load import products_from_order_lines

#: Column holding the text in the tables returned here.
TEXT = s.TEXT
#: Product-table columns joined (in this order, non-empty ones, separated by ". ") into the text.
PRODUCT_TEXT_COLUMNS = (s.TITLE, s.DESCRIPTION, s.CATEGORY)


def _joined(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """Non-empty cells of ``columns`` joined by '. ' per row (empty string when none)."""
    joined = pd.Series("", index=frame.index, dtype=object)
    for column in columns:
        if column not in frame:
            continue
        part = normalise_texts(frame[column]).str.rstrip(". ").to_numpy(dtype=object)
        current = joined.to_numpy(dtype=object)
        both = (current != "") & (part != "")
        joined = pd.Series(
            np.where(both, current + ". " + part, np.where(current == "", part, current)), index=frame.index
        )
    return joined


def product_texts(products: pd.DataFrame | None, orders: pd.DataFrame | None = None) -> pd.DataFrame:
    """product_id, text: one row per product with a text; see the module docstring."""
    frames = []
    if products is not None and not products.empty and s.PRODUCT_ID in products:
        catalogue = pd.DataFrame(
            {s.PRODUCT_ID: products[s.PRODUCT_ID].astype(str), TEXT: _joined(products, PRODUCT_TEXT_COLUMNS)}
        )
        frames.append(catalogue[catalogue[TEXT] != ""])
    if orders is not None and s.DESCRIPTION in orders and s.PRODUCT_ID in orders and not orders.empty:
        from_lines = products_from_order_lines(orders).rename(columns={s.TITLE: TEXT})
        from_lines[TEXT] = normalise_texts(from_lines[TEXT])
        frames.append(from_lines[[s.PRODUCT_ID, TEXT]].astype({s.PRODUCT_ID: str}))
    if not frames:
        return pd.DataFrame({s.PRODUCT_ID: pd.Series(dtype=object), TEXT: pd.Series(dtype=object)})
    texts = pd.concat(frames, ignore_index=True)  # catalogue first: it wins on repeated ids
    texts = texts[texts[TEXT] != ""].drop_duplicates(s.PRODUCT_ID, keep="first")
    return texts.sort_values(s.PRODUCT_ID, kind="stable").reset_index(drop=True)


def review_texts(reviews: pd.DataFrame | None) -> pd.DataFrame:
    """customer_id, text, rating (float, NaN when not given): reviews with a non-empty text."""
    if reviews is None or reviews.empty or TEXT not in reviews:
        return pd.DataFrame({s.CUSTOMER_ID: [], TEXT: [], s.RATING: []}).astype({s.RATING: "float64"})
    table = pd.DataFrame(
        {
            s.CUSTOMER_ID: reviews[s.CUSTOMER_ID].astype(str).to_numpy(),
            TEXT: normalise_texts(reviews[TEXT]).to_numpy(),
            s.RATING: pd.to_numeric(reviews[s.RATING], errors="coerce").to_numpy(dtype="float64")
            if s.RATING in reviews
            else np.nan,
        }
    )
    return table[table[TEXT] != ""].reset_index(drop=True)


def search_texts(events: pd.DataFrame | None) -> pd.DataFrame:
    """customer_id, text: the search queries customers typed (events with a non-empty query)."""
    if events is None or events.empty or s.QUERY not in events:
        return pd.DataFrame({s.CUSTOMER_ID: pd.Series(dtype=object), TEXT: pd.Series(dtype=object)})
    table = pd.DataFrame(
        {s.CUSTOMER_ID: events[s.CUSTOMER_ID].astype(str).to_numpy(), TEXT: normalise_texts(events[s.QUERY]).to_numpy()}
    )
    return table[table[TEXT] != ""].reset_index(drop=True)
