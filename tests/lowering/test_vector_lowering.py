"""Unroll and vectorize loops of sched kernels, compile them to machine code, run them on
numpy arrays and look at the assembly."""

import ctypes
import re
from collections import Counter

import numpy as np
from xdsl.parser import Parser

from ziggurat.backend.codegen import JitModule, jit, openmp_runtime
from ziggurat.core import statistics
from ziggurat.core.context import make_context
from ziggurat.core.pass_manager import PassManager
from ziggurat.core.targets import parse_target, vector_lanes
from ziggurat.runtime.memory import aligned_copy, aligned_empty

RNG = np.random.default_rng(11)
LOWER_LOOPS = "sched-lower-unroll,sched-lower-vectorize"


def compile_kernels(
    source: str, target: str = "llvm -mcpu=native"
) -> tuple[JitModule, Counter[str]]:
    """Machine code of sched kernels, and the statistics of the loop passes."""
    ctx = make_context()
    module = Parser(ctx, source).parse_module()
    runtime = "gomp" if openmp_runtime() else "serial"
    with statistics.collect() as counters:
        PassManager.parse(LOWER_LOOPS).run(ctx, module)
    lower = f'convert-sched-to-target{{target="{target}"}},'
    lower += f"convert-target-to-llvm{{parallel-runtime={runtime}}}"
    PassManager.parse(lower).run(ctx, module)
    return jit(module), counters


def call(module: JitModule, name: str, *arrays: np.ndarray) -> None:
    kernel = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * len(arrays))(module.address(name))
    kernel(*(array.ctypes.data for array in arrays))


def random(*shape: int) -> np.ndarray:
    return aligned_copy(RNG.standard_normal(shape).astype(np.float32))


def function_assembly(module: JitModule, name: str) -> str:
    """The assembly of one function, from its label to the next function's."""
    text = module.assembly()
    start = text.index(f"\n{name}:")
    end = text.find(".Lfunc_end", start)
    return text[start:end]


def test_vector_lanes_follow_the_target() -> None:
    assert vector_lanes(parse_target("llvm -mcpu=skylake-avx512"), 32) == 16
    assert vector_lanes(parse_target("llvm -mcpu=haswell"), 32) == 8
    assert vector_lanes(parse_target("llvm -mcpu=haswell"), 64) == 4
    assert vector_lanes(parse_target("llvm -mcpu=x86-64"), 32) == 4
    assert vector_lanes(parse_target("llvm -mtriple=aarch64-linux-gnu"), 32) == 4


def test_elementwise_with_a_broadcast_scalar_and_row_values() -> None:
    module, counters = compile_kernels(
        """
        func.func private @shift_relu_0(%x: memref<5x40xf32>, %s: memref<f32>, %b: memref<5xf32>,
                                        %y: memref<5x40xf32>) {
          sched.for %i = 0 to 5 step 1 {
            sched.for %j = 0 to 40 step 1 vectorize {
              %v = sched.load %x[%i, %j] : memref<5x40xf32>
              %scale = sched.load %s[] : memref<f32>
              %bias = sched.load %b[%i] : memref<5xf32>
              %m = arith.mulf %v, %scale : f32
              %a = arith.addf %m, %bias : f32
              %one = arith.constant 1.500000e+00 : f32
              %c = arith.addf %a, %one : f32
              %zero = arith.constant 0.000000e+00 : f32
              %r = arith.maximumf %c, %zero : f32
              %e = math.exp %r : f32
              sched.store %e, %y[%i, %j] : memref<5x40xf32>
            }
          }
          func.return
        }"""
    )
    assert counters["loops-vectorized"] == 1 and counters["loops-not-vectorized"] == 0
    x, s, b, y = random(5, 40), random(), random(5), aligned_empty((5, 40), np.float32)
    call(module, "shift_relu_0", x, s, b, y)
    want = np.exp(np.maximum(x * s + b[:, None] + 1.5, 0))
    np.testing.assert_allclose(y, want, rtol=1e-5)


def test_strided_loop_stays_serial_and_correct() -> None:
    module, counters = compile_kernels(
        """
        func.func private @every_other_0(%x: memref<32xf32>, %y: memref<16xf32>) {
          sched.for %j = 0 to 16 step 1 vectorize {
            %two = arith.constant 2 : index
            %at = arith.muli %j, %two : index
            %v = sched.load %x[%at] : memref<32xf32>
            %d = arith.addf %v, %v : f32
            sched.store %d, %y[%j] : memref<16xf32>
          }
          func.return
        }"""
    )
    assert counters["loops-not-vectorized"] == 1 and counters["loops-vectorized"] == 0
    x, y = random(32), aligned_empty((16,), np.float32)
    call(module, "every_other_0", x, y)
    np.testing.assert_allclose(y, 2 * x[::2])


def test_select_on_a_row_condition_and_casts() -> None:
    module, counters = compile_kernels(
        """
        func.func private @pick_0(%x: memref<3x24xf32>, %flag: memref<3xi32>, %y: memref<3x24xf64>) {
          sched.for %i = 0 to 3 step 1 {
            sched.for %j = 0 to 24 step 1 vectorize {
              %v = sched.load %x[%i, %j] : memref<3x24xf32>
              %f = sched.load %flag[%i] : memref<3xi32>
              %zero = arith.constant 0 : i32
              %on = arith.cmpi ne, %f, %zero : i32
              %n = arith.negf %v : f32
              %r = arith.select %on, %v, %n : f32
              %w = arith.extf %r : f32 to f64
              sched.store %w, %y[%i, %j] : memref<3x24xf64>
            }
          }
          func.return
        }"""
    )
    assert counters["loops-vectorized"] == 1
    x, y = random(3, 24), aligned_empty((3, 24), np.float64)
    flag = aligned_copy(np.array([1, 0, 7], np.int32))
    call(module, "pick_0", x, flag, y)
    np.testing.assert_array_equal(y, np.where(flag[:, None] != 0, x, -x).astype(np.float64))


def test_compare_and_select_lane_by_lane() -> None:
    module, counters = compile_kernels(
        """
        func.func private @leaky_relu_0(%x: memref<2x48xf32>, %y: memref<2x48xf32>) {
          sched.for %i = 0 to 2 step 1 {
            sched.for %j = 0 to 48 step 1 vectorize {
              %v = sched.load %x[%i, %j] : memref<2x48xf32>
              %zero = arith.constant 0.000000e+00 : f32
              %slope = arith.constant 1.000000e-01 : f32
              %neg = arith.cmpf olt, %v, %zero : f32
              %scaled = arith.mulf %v, %slope : f32
              %r = arith.select %neg, %scaled, %v : f32
              sched.store %r, %y[%i, %j] : memref<2x48xf32>
            }
          }
          func.return
        }"""
    )
    assert counters["loops-vectorized"] == 1
    x, y = random(2, 48), aligned_empty((2, 48), np.float32)
    call(module, "leaky_relu_0", x, y)
    np.testing.assert_allclose(y, np.where(x < 0, np.float32(0.1) * x, x), rtol=1e-6)
    assert "fcmp olt <48 x float>" in module.llvm_ir().replace('"', "")


RESHAPE = """
func.func private @reshape_0(%x: memref<ROWSxCOLSxf32>, %y: memref<4x60xf32>) {
  sched.for %i = 0 to 4 step 1 {
    sched.for %jo = 0 to 60 step STEP {
      sched.for %ji = 0 to STEP step 1 vectorize {
        %j = arith.addi %jo, %ji : index
        %row = arith.constant 60 : index
        %start = arith.muli %i, %row : index
        %flat = arith.addi %start, %j : index
        %cols = arith.constant COLS : index
        %c = arith.remui %flat, %cols : index
        %r = arith.divui %flat, %cols : index
        %v = sched.load %x[%r, %c] : memref<ROWSxCOLSxf32>
        sched.store %v, %y[%i, %j] : memref<4x60xf32>
      }
    }
  }
  func.return
}
"""


def test_reshape_splits_a_flat_index_when_no_lane_wraps() -> None:
    for rows, cols, step, vectorized in ((8, 30, 15, 1), (6, 40, 12, 0)):
        source = RESHAPE.replace("ROWS", str(rows)).replace("COLS", str(cols))
        module, counters = compile_kernels(source.replace("STEP", str(step)))
        assert counters["loops-vectorized"] == vectorized
        assert counters["loops-not-vectorized"] == 1 - vectorized
        x, y = random(rows, cols), aligned_empty((4, 60), np.float32)
        call(module, "reshape_0", x, y)
        np.testing.assert_array_equal(y, x.reshape(4, 60))


REGISTER_TILE = """
func.func private @tile_0(%a: memref<12xKxf32>, %b: memref<Kx64xf32>, %c: memref<6x64xf32>) {
  %acc = sched.alloc : memref<6x64xf32>
  sched.for %mi = 0 to 6 step 1 unroll {
    sched.for %ni = 0 to 64 step 1 vectorize {
      %zero = arith.constant 0.000000e+00 : f32
      sched.store %zero, %acc[%mi, %ni] : memref<6x64xf32>
    }
  }
  sched.for %k = 0 to K step 1 {
    sched.for %mi = 0 to 6 step 1 unroll {
      sched.for %ni = 0 to 64 step 1 vectorize {
        %m0 = arith.constant 6 : index
        %m = arith.addi %m0, %mi : index
        %s = sched.load %acc[%mi, %ni] : memref<6x64xf32>
        %x = sched.load %a[%m, %k] : memref<12xKxf32>
        %y = sched.load %b[%k, %ni] : memref<Kx64xf32>
        %p = arith.mulf %x, %y : f32
        %t = arith.addf %s, %p : f32
        sched.store %t, %acc[%mi, %ni] : memref<6x64xf32>
      }
    }
  }
  sched.for %mi = 0 to 6 step 1 unroll {
    sched.for %ni = 0 to 64 step 1 vectorize {
      %v = sched.load %acc[%mi, %ni] : memref<6x64xf32>
      sched.store %v, %c[%mi, %ni] : memref<6x64xf32>
    }
  }
  func.return
}
"""


def test_register_tile_accumulates_in_registers_with_fma() -> None:
    source = REGISTER_TILE.replace("K", "256")
    module, counters = compile_kernels(source)
    assert counters["loops-unrolled"] == 3 and counters["loops-vectorized"] == 18
    a, b, c = random(12, 256), random(256, 64), aligned_empty((6, 64), np.float32)
    call(module, "tile_0", a, b, c)
    np.testing.assert_allclose(c, a[6:] @ b, rtol=1e-4, atol=1e-4)

    avx512, _ = compile_kernels(source, "llvm -mcpu=skylake-avx512")
    assembly = function_assembly(avx512, "tile_0")
    assert len(re.findall(r"vfmadd\w+\s+.*%zmm", assembly)) >= 24
    assert assembly.count("(%rsp)") <= 2


def test_haswell_gets_ymm_fma() -> None:
    module, _ = compile_kernels(REGISTER_TILE.replace("K", "16"), "llvm -mcpu=haswell")
    assembly = function_assembly(module, "tile_0")
    assert re.search(r"vfmadd\w+\s+.*%ymm", assembly) and "zmm" not in assembly


def test_vector_code_inside_a_parallel_loop() -> None:
    module, counters = compile_kernels(
        """
        func.func private @rows_0(%x: memref<64x32xf32>, %y: memref<64x32xf32>) {
          sched.for %i = 0 to 64 step 1 parallel {
            sched.for %j = 0 to 32 step 1 vectorize {
              %v = sched.load %x[%i, %j] : memref<64x32xf32>
              %half = arith.constant 5.000000e-01 : f32
              %r = arith.mulf %v, %half : f32
              sched.store %r, %y[%i, %j] : memref<64x32xf32>
            }
          }
          func.return
        }""",
        "llvm -mcpu=native -num-cores=2",
    )
    assert counters["loops-vectorized"] == 1
    x, y = random(64, 32), aligned_empty((64, 32), np.float32)
    call(module, "rows_0", x, y)
    np.testing.assert_allclose(y, 0.5 * x)
