"""Real-time placement: one customer's new lines in, their segment, value and recommendations out.

:class:`~shopseg.live.model.LiveModel` holds a served run's customers' histories and the fitted
model as arrays (built once); :mod:`~shopseg.live.features` computes one customer's features
as :func:`shopseg.features.build_features` does, in NumPy; :mod:`~shopseg.live.lines` checks
posted lines as files are checked. The API's ``POST /customers/{id}/update`` is a thin face
over them (:mod:`shopseg.serve.live`).
"""

from shopseg.live.lines import RejectedLines, check_lines
from shopseg.live.model import LiveModel

__all__ = ["LiveModel", "RejectedLines", "check_lines"]
