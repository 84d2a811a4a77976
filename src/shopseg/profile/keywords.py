"""Keywords per segment by class-based TF-IDF (c-TF-IDF, as in BERTopic).

All texts of a segment are one document; a term scores high when it is frequent in the
segment and rare across segments: ``tf(t, segment) * log(1 + A / f(t))`` with ``A`` the
mean number of words per segment and ``f(t)`` the term's frequency over all segments.
Terms are plain words (letters, 3+ characters, English stop words removed), so whatever
a review says, a keyword is only ever a word.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer

_TOKEN = r"(?u)\b[^\W\d_]{3,}\b"


def ctfidf_keywords(
    texts: pd.Series, segments: pd.Series, *, top: int = 8, min_count: int = 3
) -> dict[int, list[dict]]:
    """Per segment id: the ``top`` terms with their c-TF-IDF scores.

    ``texts`` and ``segments`` are aligned (one text per row, e.g. one review or one
    purchased product title). Segments without text get no entry.
    """
    frame = pd.DataFrame({"text": texts.astype("string").fillna(""), "segment": segments.to_numpy()})
    frame = frame[frame["text"].str.strip() != ""]
    if frame.empty or frame["segment"].nunique() < 1:
        return {}
    documents = frame.groupby("segment")["text"].agg(" ".join)
    vectorizer = CountVectorizer(stop_words="english", token_pattern=_TOKEN, lowercase=True, min_df=1)
    try:
        counts = vectorizer.fit_transform(documents.to_numpy())
    except ValueError:  # nothing but stop words
        return {}
    counts = counts.toarray().astype("float64")
    term_totals = counts.sum(axis=0)
    keep = term_totals >= min_count
    if not keep.any():
        return {}
    counts, term_totals = counts[:, keep], term_totals[keep]
    terms = np.asarray(vectorizer.get_feature_names_out())[keep]
    words_per_class = counts.sum(axis=1, keepdims=True)
    tf = counts / np.where(words_per_class > 0, words_per_class, 1.0)
    idf = np.log(1.0 + words_per_class.mean() / term_totals)
    scores = tf * idf
    result: dict[int, list[dict]] = {}
    for row, segment in enumerate(documents.index):
        order = np.lexsort((terms, -scores[row]))[:top]
        result[int(segment)] = [
            {"term": str(terms[i]), "score": round(float(scores[row, i]), 5)} for i in order if scores[row, i] > 0
        ]
    return result
