"""flytekit's module path ``flytekit.types.structured.structured_dataset``."""

from flytekit.types.structured import CSV, PARQUET, StructuredDataset, StructuredDatasetType

__all__ = ["CSV", "PARQUET", "StructuredDataset", "StructuredDatasetType"]
