"""shopseg: customer segmentation for online shops, from order files to named segments.

The Python API, scikit-learn in spirit::

    import shopseg
    shop = shopseg.load_shop(orders="orders.csv", customers="customers.csv")
    model = shopseg.Segmenter(k=None, random_state=0).fit(shop)
    model.profiles_        # one profile per segment, with a readable name
    model.assignments()    # customer_id, segment_id, segment_name, main features
"""

__version__ = "0.1.0"

from shopseg.errors import InputError, ShopsegError
from shopseg.ingest import load_shop
from shopseg.pipeline import Segmenter
from shopseg.shop import Shop

__all__ = ["InputError", "Segmenter", "Shop", "ShopsegError", "__version__", "load_shop"]
