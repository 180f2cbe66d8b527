"""Model: a DAG of named nodes, built layer by layer or from a spec."""
from __future__ import annotations

import json
from typing import Any, Optional, Tuple

import numpy as np

from ._enums import Init
from ._native import Handle, PathLike, call, capi, extent, path, shape, sized_text, text

Node = int


class Model(Handle):
    """A model under construction. Each layer method takes the node(s) it
    reads and returns the new node; shapes are per sample and are checked as
    each node is added. Any registered op is reachable through op()."""

    _destroy = staticmethod(capi.tk_model_destroy)

    def __init__(self, _handle: Any = None) -> None:
        super().__init__(call(capi.tk_model_create) if _handle is None else _handle)

    @classmethod
    def from_spec(cls, json_text: str) -> "Model":
        return cls(call(capi.tk_model_from_spec, json_text))

    @classmethod
    def load_spec(cls, spec_path: PathLike) -> "Model":
        return cls(call(capi.tk_model_load_spec, path(spec_path)))

    @staticmethod
    def op_catalog() -> Any:
        """The registered ops and their attributes, as parsed JSON."""
        return json.loads(sized_text(capi.tk_op_catalog))

    def op(self, name: str, *inputs: Node, **attributes: Any) -> Node:
        """Adds any registered op by name, e.g. op("linear", x, units=10)."""
        nodes = [extent(node, "a node") for node in inputs]
        return int(call(capi.tk_model_op, self.handle, name, nodes, json.dumps(attributes) if attributes else None))

    def input(self, name: str, *extents: int) -> Node:
        return int(call(capi.tk_model_input, self.handle, name, shape(extents, "an input extent")))

    def input_indices(self, name: str, *extents: int) -> Node:
        """An input of int32 indices (token ids, categories): the batch passes
        integer arrays, which embedding and the like take."""
        return int(call(capi.tk_model_input_indices, self.handle, name, shape(extents, "an input extent")))

    def linear(self, node: Node, units: int, bias: bool = True, init: Init = Init.HE_UNIFORM) -> Node:
        """y = x W^T + b over the last dimension."""
        return int(call(capi.tk_model_linear_ex, self.handle, node, extent(units, "units"), int(bias), int(init)))

    def relu(self, node: Node) -> Node:
        return int(call(capi.tk_model_relu, self.handle, node))

    def gelu(self, node: Node) -> Node:
        return int(call(capi.tk_model_gelu, self.handle, node))

    def tanh(self, node: Node) -> Node:
        return int(call(capi.tk_model_tanh, self.handle, node))

    def sigmoid(self, node: Node) -> Node:
        return int(call(capi.tk_model_sigmoid, self.handle, node))

    def dropout(self, node: Node, p: float) -> Node:
        return int(call(capi.tk_model_dropout, self.handle, node, float(p)))

    def dropout2d(self, node: Node, p: float) -> Node:
        return int(call(capi.tk_model_dropout2d, self.handle, node, float(p)))

    def batch_norm(self, node: Node, eps: float = 1e-5, momentum: float = 0.1) -> Node:
        return int(call(capi.tk_model_batch_norm, self.handle, node, float(eps), float(momentum)))

    def layer_norm(self, node: Node, axes: int = 1, eps: float = 1e-5) -> Node:
        return int(call(capi.tk_model_layer_norm, self.handle, node, extent(axes, "axes"), float(eps)))

    def reshape(self, node: Node, *extents: int) -> Node:
        return int(call(capi.tk_model_reshape, self.handle, node, shape(extents)))

    def flatten(self, node: Node) -> Node:
        return int(call(capi.tk_model_flatten, self.handle, node))

    def add(self, a: Node, b: Node) -> Node:
        return int(call(capi.tk_model_add, self.handle, a, b))

    def conv2d(self, node: Node, out_channels: int, kernel: int, stride: int = 1, padding: int = 0,
               dilation: int = 1, groups: int = 1, bias: bool = True) -> Node:
        """2-D convolution over [channels, height, width], square kernel, as PyTorch's Conv2d."""
        values = shape((out_channels, kernel, stride, padding, dilation, groups), "a conv2d setting")
        return int(call(capi.tk_model_conv2d, self.handle, node, *values, int(bias)))

    def max_pool2d(self, node: Node, kernel: int, stride: Optional[int] = None, padding: int = 0) -> Node:
        return int(call(capi.tk_model_max_pool2d, self.handle, node, *shape(
            (kernel, kernel if stride is None else stride, padding), "a pooling setting")))

    def avg_pool2d(self, node: Node, kernel: int, stride: Optional[int] = None, padding: int = 0) -> Node:
        return int(call(capi.tk_model_avg_pool2d, self.handle, node, *shape(
            (kernel, kernel if stride is None else stride, padding), "a pooling setting")))

    def global_avg_pool(self, node: Node) -> Node:
        return int(call(capi.tk_model_global_avg_pool, self.handle, node))

    def output(self, node: Node, name: str = "output") -> "Model":
        call(capi.tk_model_output, self.handle, node, name)
        return self

    def add_output(self, node: Node, name: str) -> "Model":
        """Another named output beside the loss's: Trainer.predict_outputs
        and Predictor.predict_outputs read it too."""
        call(capi.tk_model_add_output, self.handle, node, name)
        return self

    def set_node_name(self, node: Node, name: str) -> None:
        call(capi.tk_model_set_node_name, self.handle, node, name)

    def multi_head_attention(self, query: Node, heads: int, *, context: Optional[Node] = None,
                             mask: Optional[Node] = None, causal: bool = False, keep_mask: bool = False,
                             name: str = "") -> Node:
        """Multi-head attention over query [seq, width] as ordinary nodes:
        projections "<name>.query/.key/.value" (keys and values of `context`,
        query itself by default), the attention op "<name>.heads" (masked by
        `mask` if given) and the output projection "<name>.out", returned."""
        return int(call(capi.tk_model_multi_head_attention, self.handle, query, query if context is None else context,
                        -1 if mask is None else mask, heads, int(causal), int(keep_mask), name))

    def share_parameter(self, node: Node, param: str, source: Node, source_param: str = "weight") -> None:
        """Weight tying: node's `param` becomes the tensor of the earlier
        node source's `source_param` (same shape; one tensor, named after
        source, whose gradient sums both uses)."""
        call(capi.tk_model_share_parameter, self.handle, node, param, source, source_param)

    def node_name(self, node: Node) -> str:
        return text(capi.tk_model_node_name, self.handle, node)

    def node_shape(self, node: Node) -> Tuple[int, ...]:
        extents = np.zeros(8, dtype=np.int64)
        rank = call(capi.tk_model_node_shape, self.handle, node, extents)
        return tuple(int(e) for e in extents[:rank])

    def num_parameters(self) -> int:
        """Scalar parameters of the model's nodes."""
        return int(call(capi.tk_model_num_parameters, self.handle))

    def spec(self) -> str:
        """The model's spec as JSON text."""
        length = call(capi.tk_model_spec_length, self.handle)
        buffer = bytearray(length)
        call(capi.tk_model_spec, self.handle, buffer)
        return buffer[: length - 1].decode()

    def save_spec(self, spec_path: PathLike) -> None:
        call(capi.tk_model_save_spec, self.handle, path(spec_path))

    def __repr__(self) -> str:
        if self.closed:
            return "<Model closed>"
        nodes = json.loads(self.spec()).get("nodes", [])
        ops = ", ".join(str(node.get("op")) for node in nodes)
        return f"<Model: {len(nodes)} nodes ({ops}), {self.num_parameters()} parameters>"
