"""ONNX op converters by op type, each choosing its implementation by opset (TVM's style).

A converter is a class with `_impl_v<N>` classmethods; for a model of opset K the highest
N <= K is used. Each implementation receives the import context (which gives the node's
inputs as values or, when known at import time, as constants), the node and its attributes,
and returns one value per node output.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import onnx
from xdsl.ir import SSAValue

if TYPE_CHECKING:
    from ziggurat.frontend.onnx.importer import ImportContext

Impl = Callable[["ImportContext", onnx.NodeProto, dict[str, Any]], list[SSAValue]]


class OnnxOpConverter:
    """Base of converters; subclasses define `_impl_vN` classmethods."""

    @classmethod
    def versions(cls) -> list[int]:
        return sorted(
            int(name[len("_impl_v") :]) for name in dir(cls) if name.startswith("_impl_v")
        )

    @classmethod
    def get_converter(cls, opset: int) -> Impl | None:
        usable = [v for v in cls.versions() if v <= opset]
        return getattr(cls, f"_impl_v{usable[-1]}") if usable else None


CONVERTERS: dict[str, type[OnnxOpConverter]] = {}
"""Converters by op type; ops of another domain than ONNX's under "domain.OpType"."""

DEFAULT_DOMAINS = ("", "ai.onnx")


def converter_key(node: onnx.NodeProto) -> str:
    """The key of the node's converter: its op type, qualified by a non-default domain."""
    return node.op_type if node.domain in DEFAULT_DOMAINS else f"{node.domain}.{node.op_type}"


def register(op_type: str) -> Callable[[type[OnnxOpConverter]], type[OnnxOpConverter]]:
    def add(cls: type[OnnxOpConverter]) -> type[OnnxOpConverter]:
        CONVERTERS[op_type] = cls
        return cls

    return add


def node_attributes(node: onnx.NodeProto) -> dict[str, Any]:
    """A node's attributes as Python values (ints, floats, strings, lists, tensors)."""
    return {attr.name: onnx.helper.get_attribute_value(attr) for attr in node.attribute}
