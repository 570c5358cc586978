"""The module paths flytekit programs import from exist and give the same objects."""

from __future__ import annotations

import importlib

import pytest

PATHS = {
    "flytekit.core.task": ["task", "eager"],
    "flytekit.core.workflow": ["workflow", "WorkflowFailurePolicy", "ImperativeWorkflow"],
    "flytekit.core.dynamic_workflow_task": ["dynamic"],
    "flytekit.core.condition": ["conditional"],
    "flytekit.core.launch_plan": ["LaunchPlan"],
    "flytekit.core.schedule": ["CronSchedule", "FixedRate"],
    "flytekit.core.notification": ["Email", "Slack", "PagerDuty"],
    "flytekit.core.node_creation": ["create_node"],
    "flytekit.core.array_node_map_task": ["map_task"],
    "flytekit.core.map_task": ["map_task"],
    "flytekit.core.resources": ["Resources"],
    "flytekit.core.base_task": ["kwtypes"],
    "flytekit.core.context_manager": ["FlyteContext", "FlyteContextManager", "ExecutionParameters"],
    "flytekit.core.checkpointer": ["Checkpoint"],
    "flytekit.core.type_engine": ["TypeEngine", "TypeTransformer"],
    "flytekit.core.promise": ["Promise", "VoidPromise"],
    "flytekit.core.hash": ["HashMethod"],
    "flytekit.models.security": ["Secret"],
    "flytekit.models.literals": ["Literal", "Scalar", "Primitive", "Blob", "BlobMetadata"],
    "flytekit.models.types": ["LiteralType", "SimpleType"],
    "flytekit.models.core.types": ["BlobType"],
    "flytekit.types.file": ["FlyteFile", "CSVFile"],
    "flytekit.types.file.file": ["FlyteFile"],
    "flytekit.types.directory": ["FlyteDirectory"],
    "flytekit.types.directory.types": ["FlyteDirectory"],
    "flytekit.types.structured": ["StructuredDataset"],
    "flytekit.types.structured.structured_dataset": ["StructuredDataset"],
    "flytekit.types.pickle": ["FlytePickle"],
    "flytekit.extend": ["TypeEngine", "TypeTransformer"],
    "flytekit.experimental": ["eager"],
    "flytekit.deck": ["Deck"],
    "flytekit.image_spec": ["ImageSpec"],
}


@pytest.mark.parametrize("module", sorted(PATHS))
def test_module_path(module):
    mod = importlib.import_module(module)
    for name in PATHS[module]:
        assert hasattr(mod, name), f"{module}.{name}"


def test_top_level_names_are_the_same_objects():
    from flytekit.core.workflow import workflow
    from flytekit.types.file.file import FlyteFile

    import flytekit

    assert flytekit.workflow is workflow and flytekit.FlyteFile is FlyteFile
    for name in flytekit.__all__:
        assert getattr(flytekit, name) is not None


def test_flyte_remote_says_what_to_use_instead():
    from flytekit.remote import FlyteRemote

    with pytest.raises(NotImplementedError, match="flyte.remote"):
        FlyteRemote()
