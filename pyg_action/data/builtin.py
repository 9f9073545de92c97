"""Imports every shipped dataset module so their ``@register_dataset`` lines run."""
