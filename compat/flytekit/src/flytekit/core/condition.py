"""``conditional("name").if_(...).then(...).elif_(...).then(...).else_().then(...)|.fail(...)``.

While a case is open (after ``if_``/``elif_``/``else_``, before ``then``/``fail``), the calls made
for its ``then`` value become nodes of that case rather than of the workflow, so only the chosen
case runs. The finished section is one branch node of the enclosing graph (or of the enclosing
case, for nested conditionals); its outputs are those of the ``then`` values, which must agree in
number across cases. At run time the branch evaluates the conditions in order on the real values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flytekit.core._compile import GraphBuilder, current_builder
from flytekit.core.node import Node, call_result, promises_in
from flytekit.core.promise import Promise, VoidPromise, _Expression, as_condition

if TYPE_CHECKING:
    from flytekit.core._runner import Scope


class Case:
    """One arm of a conditional: a condition (None for else), its nodes and its result."""

    def __init__(self, section: ConditionalSection, expr: _Expression | None) -> None:
        self.section = section
        self.expr = expr
        self.nodes: list[Node] = []
        self.output: Any = None
        self.error: str | None = None

    def then(self, value: Any) -> Any:
        """The value of this case: promises of calls made for it, or a workflow input/constant."""
        self.section.close_case(self)
        self.output = value
        if self.expr is None:
            return self.section.finish()
        return Condition(self.section)

    def fail(self, message: str) -> Any:
        """End the conditional: reaching this case fails the execution with ``message``."""
        self.section.close_case(self)
        self.error = message
        if self.expr is not None:
            raise ValueError("fail() can only end a conditional, after else_()")
        return self.section.finish()


class Condition:
    """What ``then`` returns for a non-final case: continue with ``elif_`` or ``else_``."""

    def __init__(self, section: ConditionalSection) -> None:
        self.section = section

    def elif_(self, expr: Any) -> Case:
        return self.section.open(as_condition(expr))

    def else_(self) -> Case:
        return self.section.open(None)


class ConditionalSection:
    """A named conditional in the graph being defined."""

    def __init__(self, name: str, builder: GraphBuilder) -> None:
        self.name = name
        self.builder = builder
        self.cases: list[Case] = []
        self.open_case: Case | None = None
        self.node: Node | None = None
        builder.sections.append(self)

    def if_(self, expr: Any) -> Case:
        if self.cases:
            raise ValueError(f"conditional '{self.name}': if_() starts a conditional; use elif_() next")
        return self.open(as_condition(expr))

    def open(self, expr: _Expression | None) -> Case:
        if self.open_case is not None:
            raise ValueError(f"conditional '{self.name}': finish the previous case with then() first")
        if self.node is not None:
            raise ValueError(f"conditional '{self.name}' has already ended")
        case = Case(self, expr)
        self.cases.append(case)
        self.open_case = case
        return case

    def close_case(self, case: Case) -> None:
        if self.open_case is not case:
            raise ValueError(f"conditional '{self.name}': then() of a case that is not open")
        self.open_case = None

    def finish(self) -> Any:
        """Turn the section into a branch node of the enclosing scope; returns its promises."""
        if self.node is not None:
            return call_result(self.node)
        if self in self.builder.sections:
            self.builder.sections.remove(self)
        entity = BranchEntity(self)
        self.node = Node(self.builder.next_id(), entity, {})
        self.builder.add(self.node)
        return call_result(self.node)


def conditional(name: str) -> ConditionalSection:
    """Start a conditional section in the workflow (or dynamic task) being defined."""
    builder = current_builder()
    if builder is None:
        raise RuntimeError(f"conditional('{name}') can only be used inside a @workflow or @dynamic body")
    return ConditionalSection(name, builder)


def _outputs_of(value: Any) -> list[Promise] | None:
    """The promises a case produces, or None when it produces nothing."""
    if value is None or isinstance(value, VoidPromise):
        return None
    if isinstance(value, tuple):
        return list(value)
    return [value]


class BranchEntity:
    """The entity of a branch node: runs the first case whose condition holds."""

    fk_output_tuple = None
    fk_inputs: dict[str, Any] = {}

    def __init__(self, section: ConditionalSection) -> None:
        self.section = section
        self.fk_name = section.name
        first = next((c for c in section.cases if c.error is None), None)
        self.fk_outputs: dict[str, Any] = {}
        count = None
        for case in section.cases:
            if case.error is not None:
                continue
            outs = _outputs_of(case.output)
            n = len(outs) if outs else 0
            if count is not None and n != count:
                raise TypeError(
                    f"conditional '{section.name}': every case must produce the same outputs; one gives "
                    f"{count} value(s), another {n}"
                )
            count = n
        if first is not None:
            for i, value in enumerate(_outputs_of(first.output) or []):
                name = value.var if isinstance(value, Promise) else f"o{i}"
                self.fk_outputs[name if name not in self.fk_outputs else f"o{i}"] = (
                    value.type if isinstance(value, Promise) else type(value)
                )
        if section.cases and section.cases[-1].expr is not None and self.fk_outputs:
            raise TypeError(
                f"conditional '{section.name}' produces outputs, so it must end with else_().then(...) "
                "or else_().fail(...)"
            )

    def fk_dependencies(self) -> list[Node]:
        """The nodes whose outputs the conditions read (the cases' own inputs are awaited inside)."""
        found: list[Node] = []
        for case in self.section.cases:
            if case.expr is not None:
                for p in case.expr.promises():
                    if p.node is not None and p.node not in found:
                        found.append(p.node)
        return found

    async def fk_run_branch(self, scope: Scope) -> dict[str, Any]:
        """Evaluate the conditions in order and run the chosen case; returns the branch's outputs."""
        for case in self.section.cases:
            if case.expr is not None:
                values: dict[int, Any] = {id(p): await scope.value(p) for p in case.expr.promises()}
                if not case.expr.eval(lambda p: values[id(p)]):  # noqa: B023 - used at once
                    continue
            if case.error is not None:  # a builtin ValueError, as flytekit raises, found by name anywhere
                raise ValueError(case.error)
            inner = scope.child()
            await inner.run(case.nodes)
            outs = _outputs_of(case.output) or []
            result: dict[str, Any] = {}
            for name, value in zip(self.fk_outputs, outs, strict=False):
                result[name] = await inner.resolve(value)
            return result
        return {}  # no case matched and there is no else: nothing runs


def open_sections_to_nodes(builder: GraphBuilder) -> None:
    """Conditionals left without ``else_`` when a body ends become branch nodes without outputs."""
    while builder.sections:
        section = builder.sections[-1]
        if section.open_case is not None:
            raise ValueError(f"conditional '{section.name}' has a case without then()")
        section.finish()


__all__ = ["Case", "Condition", "ConditionalSection", "conditional", "promises_in"]
