"""Flop counts read off target-level kernels: lanes times enclosing trip counts."""

import pytest
from xdsl.parser import Parser

from ziggurat.backend.flop_count import kernel_flops
from ziggurat.core.context import make_context
from ziggurat.dialects.target import KernelOp

KERNEL = """
builtin.module {
  target.kernel @k(%a: memref<64xf32>, %n: memref<8xi64>) {
    %c0 = arith.constant 0 : index
    %c4 = arith.constant 4 : index
    %c16 = arith.constant 16 : index
    %c64 = arith.constant 64 : index
    %z = arith.constant 0.0 : f32
    %w = memref.load %n[%c0] : memref<8xi64>
    %bound = arith.index_cast %w : i64 to index
    scf.for %i = %c0 to %bound step %c4 {
      %s = memref.load %a[%c0] : memref<64xf32>
      %t = arith.addf %s, %s : f32
    }
    scf.for %i = %c0 to %c64 step %c16 {
      %v = vector.load %a[%i] : memref<64xf32>, vector<16xf32>
      %f = vector.fma %v, %v, %v : vector<16xf32>
      scf.for %j = %c0 to %c4 step %c4 {
        %x = memref.load %a[%j] : memref<64xf32>
        %y = arith.mulf %x, %x : f32
        %e = math.exp %y : f32
        %m = arith.maximumf %e, %z : f32
        %p = arith.cmpf ogt, %m, %z : f32
      }
      %k = memref.load %n[%c0] : memref<8xi64>
      %l = arith.addi %k, %k : i64
    }
    target.return
  }
}
"""


@pytest.fixture
def kernel() -> KernelOp:
    module = Parser(make_context(), KERNEL).parse_module()
    (op,) = [op for op in module.ops if isinstance(op, KernelOp)]
    return op


def test_vector_and_scalar_float_ops_times_trip_counts(kernel: KernelOp) -> None:
    # a loop of unknown trip count counts once (1); 4 iterations of the next: one fma of 16
    # lanes (2 x 16), then one iteration of mulf, exp, maximumf and cmpf (4); loads and integer
    # ops count nothing
    assert kernel_flops(kernel) == 1 + 4 * (2 * 16 + 4)
