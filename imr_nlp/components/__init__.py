"""spaCy components of the IMR pipeline, one per module. Importing this package registers
their factories with spaCy."""
from . import sections, header, items, citations  # noqa: F401
