"""spaCy components of the IMR pipeline, one per module. Importing this package registers
their factories with spaCy."""
from . import sections, header, items, citations  # noqa: F401
from . import reasons  # noqa: F401,E402  (imr_reasons; scikit-learn is imported only when a model loads)
