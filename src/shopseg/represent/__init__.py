"""Representation: behaviour features and text vectors fused into one small vector per customer.

The stage's entry point::

    from shopseg.represent import fuse
    fused = fuse(behaviour_matrix, text.blocks, evidence=text.evidence, dim=16, random_state=0)
    fused.vectors          # customers x 16, what the clusterer reads
    fused.model.save(run_dir / "model" / "fusion")   # fusion.json + fusion.safetensors
    Fuser.load(folder).transform(new_behaviour, new_text.blocks, new_text.evidence)

Pure: arrays in, arrays out; no files except through ``save``/``load``.
"""

from shopseg.represent.blocks import BlockNormaliser
from shopseg.represent.fusion import BEHAVIOUR, DEFAULT_WEIGHTS, FusedRepresentation, Fuser, fuse
from shopseg.represent.reducers import REDUCERS, AutoencoderReducer, PCAReducer, torch_available

__all__ = [
    "BEHAVIOUR",
    "DEFAULT_WEIGHTS",
    "REDUCERS",
    "AutoencoderReducer",
    "BlockNormaliser",
    "FusedRepresentation",
    "Fuser",
    "PCAReducer",
    "fuse",
    "torch_available",
]
