"""flytekit's data types: FlyteFile, FlyteDirectory, StructuredDataset, FlytePickle, FlyteError."""
