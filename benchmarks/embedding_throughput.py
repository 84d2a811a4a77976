"""Text embedding throughput of every encoder on the same texts, in the same run.

    python benchmarks/embedding_throughput.py [--quick] [--texts 2000] [--rounds 3]

Texts: distinct review texts of a generated shop (short reviews, like real ones). For each
encoder: texts per second (best of ``--rounds`` interleaved rounds, so that every encoder
sees the same machine load; the median is printed too), the ratio to *plain*
sentence-transformers fp32 (``SentenceTransformer.encode`` with its defaults, the
reference), the mean and minimum cosine to the reference vectors, and the share of the
machine's measured fp32 matrix-multiply throughput that the encoder's useful FLOPs reach
(MiniLM: about 24·h² FLOPs per token per layer for the dense layers plus 4·h·tokens for
attention, h = 384, 6 layers, counted on real tokens, not padding).

Also: how much deduplication adds on a whole shop's reviews (texts per second counted over
all reviews when only distinct ones are embedded). The machine may be shared: the numbers
move with other people's load, which is why rounds are interleaved.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from rich.console import Console
from rich.table import Table

from shopseg.embed import get_encoder
from shopseg.embed.embedding import normalise_texts
from shopseg.embed.sentence_transformer import bundled_minilm_folder
from shopseg.generate import generate_shop

console = Console(width=140)
HIDDEN, LAYERS = 384, 6
ENCODERS = ("minilm", "minilm-bf16", "minilm-int8", "fast")


def matmul_gflops(size: int = 2048, repeats: int = 5) -> dict[str, float]:
    """Best-of-``repeats`` GFLOP/s of a square fp32 (and bf16) torch matmul with torch's default threads."""
    import torch

    results = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(size, size).to(dtype)
        b = torch.randn(size, size).to(dtype)
        a @ b
        best = 0.0
        for _ in range(repeats):
            started = time.perf_counter()
            a @ b
            best = max(best, 2 * size**3 / (time.perf_counter() - started) / 1e9)
        results[name] = best
    return results


def minilm_flops_per_text(texts: list[str]) -> tuple[float, float]:
    """(mean tokens per text, useful FLOPs per text) of MiniLM-L6 on these texts (no padding)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(bundled_minilm_folder() / "tokenizer.json"))
    tokenizer.enable_truncation(256)
    tokenizer.no_padding()  # tokenizer.json pads to 128; count real tokens only
    lengths = np.array([len(e.ids) for e in tokenizer.encode_batch(texts)], dtype=np.float64)
    flops = LAYERS * (24 * HIDDEN**2 * lengths + 4 * HIDDEN * lengths**2)
    return float(lengths.mean()), float(flops.mean())


def plain_reference():
    """Plain sentence-transformers fp32 (library defaults): what the issue's numbers measure."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(bundled_minilm_folder()), device="cpu", local_files_only=True)
    return lambda texts: model.encode(texts, normalize_embeddings=True, show_progress_bar=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 texts, 2 rounds")
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--customers", type=int, default=20_000, help="size of the generated shop the texts come from")
    parser.add_argument("--encoders", nargs="+", default=list(ENCODERS))
    args = parser.parse_args()
    if args.quick:
        args.texts, args.rounds = 500, 2

    reviews = generate_shop(args.customers, 0).reviews["text"]
    all_reviews = normalise_texts(reviews).tolist()
    distinct = list(dict.fromkeys(all_reviews))
    texts = distinct[: args.texts]
    tokens, flops = minilm_flops_per_text(texts)
    console.print(
        f"{len(texts)} distinct review texts, {tokens:.1f} tokens each on average; "
        f"MiniLM needs {flops / 1e9:.3f} GFLOP per text"
    )

    runners = {"plain ST fp32": plain_reference()}
    encoders = {name: get_encoder(name) for name in args.encoders}
    for name, encoder in encoders.items():
        started = time.perf_counter()
        encoder.load()
        encoder.encode(texts[:16])  # warm-up (and, for 'fast', distillation on first use)
        console.print(f"loaded {name} ({encoder.model_id}) in {time.perf_counter() - started:.1f} s")
        runners[name] = encoder.encode
    runners["plain ST fp32"](texts[:16])

    rates: dict[str, list[float]] = {name: [] for name in runners}
    vectors: dict[str, np.ndarray] = {}
    gflops: list[dict[str, float]] = []
    for round_number in range(args.rounds):
        gflops.append(matmul_gflops())
        for name, run in runners.items():
            started = time.perf_counter()
            vectors[name] = run(texts)
            rates[name].append(len(texts) / (time.perf_counter() - started))
        console.print(f"round {round_number + 1}: " + ", ".join(f"{n} {r[-1]:.0f}/s" for n, r in rates.items()))
    peak = max(g["fp32"] for g in gflops)
    peak_bf16 = max(g["bf16"] for g in gflops)

    reference = vectors["plain ST fp32"]
    best_reference = max(rates["plain ST fp32"])
    table = Table(title=f"Embedding throughput, {len(texts)} texts, best (median) of {args.rounds} interleaved rounds")
    for column in (
        "encoder",
        "texts/s best",
        "texts/s median",
        "x plain fp32",
        "cosine mean",
        "cosine min",
        "% matmul",
    ):
        table.add_column(column, justify="right" if column != "encoder" else "left")
    for name, values in rates.items():
        best = max(values)
        same_space = vectors[name].shape == reference.shape and name != "fast"
        cosine = (vectors[name] * reference).sum(axis=1) if same_space else None
        share = f"{100 * best * flops / 1e9 / peak:.0f}%" if name != "fast" else "n/a"
        table.add_row(
            name,
            f"{best:,.0f}",
            f"{np.median(values):,.0f}",
            f"{best / best_reference:.2f}",
            f"{cosine.mean():.5f}" if cosine is not None else "n/a",
            f"{cosine.min():.5f}" if cosine is not None else "n/a",
            share,
        )
    console.print(table)
    console.print(
        f"machine: fp32 matmul {peak:.0f} GFLOP/s, bf16 matmul {peak_bf16:.0f} GFLOP/s (2048², torch, best of rounds); "
        f"'% matmul' = texts/s x GFLOP per text / fp32 matmul GFLOP/s"
    )
    dedup_factor = len(all_reviews) / len(distinct)
    default = "minilm-int8" if "minilm-int8" in rates else next(iter(encoders), "plain ST fp32")
    console.print(
        f"deduplication: {len(all_reviews):,} reviews of a {args.customers:,}-customer shop hold {len(distinct):,} "
        f"distinct texts (x{dedup_factor:.2f}); {default} then covers {max(rates[default]) * dedup_factor:,.0f} "
        f"reviews/s; product descriptions repeat far more (one text per product, not per line)."
    )


if __name__ == "__main__":
    main()
