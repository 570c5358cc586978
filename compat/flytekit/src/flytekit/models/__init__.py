"""The few flytekit literal models that custom TypeTransformers build (``flytekit.models.*``)."""
