"""moto's DynamoDB update expressions validated without re-deriving each validator's table of
node classes at every node.

An ``UpdateItem`` (and each ``Update`` of a ``TransactWriteItems``) costs moto a validation
that runs ten AST walkers over a copy of the expression's tree. Each walker asks its
``_processing_map()`` (a new dict of node class → bound method) twice per node it visits, and
tests each node against those classes with ``isinstance`` on moto's abstract node classes. In a
profile of the 200-note fault storm that validation was the largest part of moto's
``update_item``. (Parsing each text once is ``tests/moto_dynamodb.py``'s.)

``install()`` changes how, not what: ``DepthFirstTraverser.traverse_node_recursively`` visits
the same nodes in the same order and calls the same processors with the same arguments; the
processor a node gets is the first class of the walker's map the node is an instance of,
looked up once per walker class and node class instead of at every node (a walker's map is
fixed: each ``_processing_map`` returns the same classes and the same methods of the walker
every time; one that does not is refused).

Installed by the in-process test tiers (``tests/world.py``), the contract tier's ``aws`` and
the local stack's moto (``moto_tuning.apply``); ``tests/contracts/test_moto_updates.py``
compares moto's answers and stored items with and without it.
"""

from __future__ import annotations

from typing import Any

_INSTALLED: list[tuple[Any, str, Any]] = []


def install() -> None:
    """The walk, for this process (idempotent)."""
    if _INSTALLED:
        return
    from moto.dynamodb.parsing import ast_nodes

    ast: Any = ast_nodes
    traverser = ast.DepthFirstTraverser
    walk = traverser.__dict__["traverse_node_recursively"]
    node_class = ast.Node

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        if isinstance(node, node_class):
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    self.pre_processing_of_child(node, i)
                    traverse_node_recursively(self, child_node, i)
            processor = _processor(self, type(node))
            if processor is not None:
                node = processor(self, node)
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
        return node

    _INSTALLED.append((traverser, "traverse_node_recursively", walk))
    traverser.traverse_node_recursively = traverse_node_recursively  # type: ignore[method-assign]


_PROCESSORS: dict[tuple[type, type], Any] = {}  # (walker class, node class) → function


def _processor(walker: Any, cls: type) -> Any:
    """The function ``walker`` processes a node of class ``cls`` with (the method of the first
    class of its map that ``cls`` is a subclass of, as moto's ``process`` picks it), or None."""
    key = (type(walker), cls)
    if key in _PROCESSORS:
        return _PROCESSORS[key]
    method = next((method for klass, method in walker._processing_map().items()
                   if issubclass(cls, klass)), None)
    if method is not None and getattr(method, "__self__", None) is not walker:
        raise TypeError(f"{type(walker).__name__}'s map holds {method!r}, not its method")
    found = _PROCESSORS[key] = getattr(method, "__func__", None)
    return found


def uninstall() -> None:
    """moto's own walk again (for the contract test that compares both)."""
    while _INSTALLED:
        owner, name, original = _INSTALLED.pop()
        setattr(owner, name, original)
