"""graph-winograd keeps the numbers: the reference executor before and after the rewrite, and
the compiled transforms against the reference of the original convolution."""

import numpy as np
import pytest
from xdsl.parser import Parser

import ziggurat
from ziggurat.core import statistics
from ziggurat.core.context import make_context
from ziggurat.core.pass_manager import PassManager
from ziggurat.core.reference import run_reference
from ziggurat.runtime import GraphModule

CONV = """
func.func @main(%x: tensor<1x{blocks}x{h}x{w}x16xf32> {{graph.name = "x"}}) -> tensor<1x2x{oh}x{ow}x16xf32> {{
  %w = graph.weight "w" : tensor<2x{blocks}x3x3x16x16xf32>
  %b = graph.weight "b" : tensor<32xf32>
  %0 = graph.conv_nchwc %x, %w, %b {{strides = array<i64: 1, 1>, pads = array<i64: {pads}>, dilations = array<i64: 1, 1>, groups = 1 : i64}} : (tensor<1x{blocks}x{h}x{w}x16xf32>, tensor<2x{blocks}x3x3x16x16xf32>, tensor<32xf32>) -> tensor<1x2x{oh}x{ow}x16xf32>
  %1 = graph.relu %0 : tensor<1x2x{oh}x{ow}x16xf32>
  func.return %1 : tensor<1x2x{oh}x{ow}x16xf32>
}}
"""
CASES = [(8, 8, (1, 1, 1, 1)), (7, 7, (1, 1, 1, 1)), (9, 6, (0, 0, 0, 0)), (5, 7, (1, 0, 2, 1))]
TOLERANCE = {2: 1e-4, 4: 1e-3}
"""F(4x4, 3x3)'s matrices hold 1/24 and 8: its fp32 error is about ten times F(2x2)'s
(1e-4 of the largest output here against 1e-5)."""


def conv_module(height: int, width: int, pads: tuple[int, ...], blocks: int = 2):
    oh, ow = height + pads[0] + pads[2] - 2, width + pads[1] + pads[3] - 2
    source = CONV.format(
        blocks=blocks, h=height, w=width, oh=oh, ow=ow, pads=", ".join(map(str, pads))
    )
    rng = np.random.default_rng(height * 10 + width)
    params = {
        "w": rng.standard_normal((2, blocks, 3, 3, 16, 16)).astype(np.float32),
        "b": rng.standard_normal(32).astype(np.float32),
    }
    x = rng.standard_normal((1, blocks, height, width, 16)).astype(np.float32)
    return Parser(make_context(), source).parse_module(), params, {"x": x}


@pytest.mark.parametrize("tile", [2, 4])
@pytest.mark.parametrize(("height", "width", "pads"), CASES)
def test_winograd_keeps_the_numbers(tile: int, height: int, width: int, pads: tuple) -> None:
    module, params, inputs = conv_module(height, width, pads)
    expected = run_reference(module, params, inputs)[0]
    ctx = make_context(dict(params))
    rewritten = module.clone()
    with statistics.collect() as counters:
        PassManager.parse(f"graph-winograd{{tile={tile} min-tiles=1}}").run(ctx, rewritten)
    assert counters["convs-to-winograd"] == 1
    tolerance = TOLERANCE[tile] * np.abs(expected).max()
    np.testing.assert_allclose(
        run_reference(rewritten, ctx.params, inputs)[0], expected, rtol=0, atol=tolerance
    )
    runner = GraphModule(ziggurat.build(rewritten, params=ctx.params, opt_level=0))
    runner.run(**inputs)
    np.testing.assert_allclose(runner.get_output(0), expected, rtol=0, atol=tolerance)


def test_opt_level_3_runs_winograd_and_keeps_the_numbers() -> None:
    """At opt_level 3 the blocked 3x3 convolution with enough tiles (64 here) goes through
    the transforms, fused with its relu."""
    module, params, inputs = conv_module(16, 16, (1, 1, 1, 1), blocks=4)
    lib = ziggurat.build(module, params=params, opt_level=3)
    kernels = [launch["kernel"] for launch in lib.plan["launches"]]
    assert kernels[0].startswith("winograd_input") and kernels[-1].startswith(
        "winograd_output_relu"
    )
    runner = GraphModule(lib)
    runner.run(**inputs)
    expected = run_reference(module, params, inputs)[0]
    np.testing.assert_allclose(runner.get_output(0), expected, rtol=1e-4, atol=1e-4)
