"""Every strategy and lowering pass, compiled and run, against the numpy reference executor."""

import numpy as np
import pytest
from xdsl.parser import Parser

import ziggurat
from ziggurat.core.context import make_context
from ziggurat.core.reference import run_reference
from ziggurat.runtime import GraphModule

RNG = np.random.default_rng(3)


def compile_and_compare(
    source: str, params: dict[str, np.ndarray], *, target: str = "llvm -mcpu=native"
) -> None:
    module = Parser(make_context(), source).parse_module()
    module.verify()
    function = next(iter(module.ops))
    inputs = [
        RNG.standard_normal(arg.type.get_shape()).astype(np.float32)
        for arg in function.body.block.args
    ]
    expected = run_reference(module, params, inputs)
    runner = GraphModule(ziggurat.build(module, target=target, params=params))
    for n, value in enumerate(inputs):
        runner.set_input(n, value)
    runner.run()
    for n, want in enumerate(expected):
        np.testing.assert_allclose(runner.get_output(n), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("transpose_b", [False, True])
def test_matmul_transposes_and_alpha(transpose_a: bool, transpose_b: bool) -> None:
    a_shape = "7x5" if transpose_a else "5x7"
    b_shape = "9x7" if transpose_b else "7x9"
    attrs = ", ".join(
        [
            *(["transpose_a"] if transpose_a else []),
            *(["transpose_b"] if transpose_b else []),
            "alpha = 0.25 : f32",
        ]
    )
    compile_and_compare(
        f"""
        func.func @main(%a: tensor<{a_shape}xf32>, %b: tensor<{b_shape}xf32>) -> tensor<5x9xf32> {{
          %0 = graph.matmul %a, %b {{{attrs}}} : (tensor<{a_shape}xf32>, tensor<{b_shape}xf32>) -> tensor<5x9xf32>
          func.return %0 : tensor<5x9xf32>
        }}""",
        {},
    )


def test_batched_matmul_broadcasts_batch_dims() -> None:
    compile_and_compare(
        """
        func.func @main(%a: tensor<2x1x3x4xf32>, %b: tensor<5x4x6xf32>) -> tensor<2x5x3x6xf32> {
          %0 = graph.matmul %a, %b : (tensor<2x1x3x4xf32>, tensor<5x4x6xf32>) -> tensor<2x5x3x6xf32>
          func.return %0 : tensor<2x5x3x6xf32>
        }""",
        {},
    )


def test_broadcasting_add_mul_with_weights_and_constants() -> None:
    compile_and_compare(
        """
        func.func @main(%x: tensor<3x1x5xf32>) -> tensor<3x4x5xf32> {
          %w = graph.weight "w" : tensor<4x1xf32>
          %c = graph.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0]> : tensor<5xf32>
          %s = graph.constant dense<-1.5> : tensor<f32>
          %0 = graph.add %x, %w : (tensor<3x1x5xf32>, tensor<4x1xf32>) -> tensor<3x4x5xf32>
          %1 = graph.mul %0, %c : (tensor<3x4x5xf32>, tensor<5xf32>) -> tensor<3x4x5xf32>
          %2 = graph.mul %1, %s : (tensor<3x4x5xf32>, tensor<f32>) -> tensor<3x4x5xf32>
          %3 = graph.relu %2 : tensor<3x4x5xf32>
          func.return %3 : tensor<3x4x5xf32>
        }""",
        {"w": RNG.standard_normal((4, 1)).astype(np.float32)},
    )


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_softmax_along_each_axis(axis: int) -> None:
    compile_and_compare(
        f"""
        func.func @main(%x: tensor<3x4x5xf32>) -> tensor<3x4x5xf32> {{
          %0 = graph.softmax %x {{axis = {axis} : i64}} : tensor<3x4x5xf32>
          func.return %0 : tensor<3x4x5xf32>
        }}""",
        {},
    )


def test_reshapes_and_repeated_outputs() -> None:
    compile_and_compare(
        """
        func.func @main(%x: tensor<2x3x4xf32>) -> (tensor<4x6xf32>, tensor<4x6xf32>, tensor<2x3x4xf32>) {
          %0 = graph.reshape %x : tensor<2x3x4xf32> -> tensor<24xf32>
          %1 = graph.reshape %0 : tensor<24xf32> -> tensor<4x6xf32>
          func.return %1, %1, %x : tensor<4x6xf32>, tensor<4x6xf32>, tensor<2x3x4xf32>
        }""",
        {},
    )


def test_large_nests_run_in_parallel_and_match() -> None:
    source = """
        func.func @main(%x: tensor<64x300xf32>) -> tensor<64x400xf32> {
          %w = graph.weight "w" : tensor<400x300xf32>
          %0 = graph.matmul %x, %w {transpose_b} : (tensor<64x300xf32>, tensor<400x300xf32>) -> tensor<64x400xf32>
          %1 = graph.softmax %0 {axis = 1 : i64} : tensor<64x400xf32>
          func.return %1 : tensor<64x400xf32>
        }"""
    params = {"w": RNG.standard_normal((400, 300)).astype(np.float32) * 0.1}
    module = Parser(make_context(), source).parse_module()
    lib = ziggurat.build(module, target="llvm -mcpu=native -num-cores=2", params=params)
    assert "GOMP_parallel" in lib.keepalive.llvm_ir
    compile_and_compare(source, params, target="llvm -mcpu=native -num-cores=2")
    compile_and_compare(source, params, target="llvm -mcpu=native -num-cores=1")


def test_large_scratch_goes_to_the_heap() -> None:
    compile_and_compare(
        """
        func.func @main(%x: tensor<128x256xf32>) -> tensor<128x256xf32> {
          %0 = graph.softmax %x {axis = 0 : i64} : tensor<128x256xf32>
          func.return %0 : tensor<128x256xf32>
        }""",
        {},
    )


def test_elementwise_family_transpose_and_layer_norm() -> None:
    compile_and_compare(
        """
        func.func @main(%x: tensor<2x3x8xf32>, %y: tensor<8xf32>) -> (tensor<3x2x8xf32>, tensor<2x3x8xf32>) {
          %g = graph.weight "gamma" : tensor<8xf32>
          %b = graph.constant dense<0.25> : tensor<f32>
          %0 = graph.sigmoid %x : tensor<2x3x8xf32>
          %1 = graph.tanh %0 : tensor<2x3x8xf32>
          %2 = graph.erf %1 : tensor<2x3x8xf32>
          %3 = graph.exp %2 : tensor<2x3x8xf32>
          %4 = graph.log %3 : tensor<2x3x8xf32>
          %5 = graph.sqrt %3 : tensor<2x3x8xf32>
          %6 = graph.neg %5 : tensor<2x3x8xf32>
          %7 = graph.reciprocal %6 : tensor<2x3x8xf32>
          %8 = graph.sub %7, %y : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
          %9 = graph.div %8, %g : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
          %10 = graph.pow %5, %b : (tensor<2x3x8xf32>, tensor<f32>) -> tensor<2x3x8xf32>
          %11 = graph.max %9, %10 : (tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
          %12 = graph.min %11, %4 : (tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
          %13 = graph.gelu %12 {approximate = "none"} : tensor<2x3x8xf32>
          %14 = graph.gelu %13 {approximate = "tanh"} : tensor<2x3x8xf32>
          %15 = graph.transpose %14 {perm = array<i64: 1, 0, 2>} : tensor<2x3x8xf32> -> tensor<3x2x8xf32>
          %16 = graph.layer_norm %x, %g, %y {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x3x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
          func.return %15, %16 : tensor<3x2x8xf32>, tensor<2x3x8xf32>
        }""",
        {"gamma": (RNG.random(8) + 0.5).astype(np.float32)},
    )
