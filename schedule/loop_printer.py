"""A compact loop-nest view of a sched kernel for humans: loops with their ranges and kinds,
statements as buffer writes, like TVM's lowered TIR printout without the arithmetic.

    @matmul_add_relu_0
      for i0.o in 0..60 step 6 parallel
        for i1.o in 0..128 step 64
          for i0.i in 0..6 unroll
            for i1.i in 0..64 vectorize
              local0[...] = ...
"""

from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType
from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import sched
from ziggurat.schedule.loop_transforms import is_reduce, loop_name


def _buffer_label(buffer: SSAValue, kernel: func.FuncOp) -> str:
    args = kernel.body.block.args
    if buffer in args:
        return buffer.name_hint or f"arg{args.index(buffer)}"  # pyright: ignore[reportArgumentType]
    assert isinstance(buffer.type, MemRefType)
    shape = "x".join(str(d) for d in buffer.type.get_shape()) or "scalar"
    return f"local<{shape}>"


def _lines(op: Operation, kernel: func.FuncOp, depth: int, out: list[str]) -> None:
    pad = "  " * depth
    if isinstance(op, sched.ForOp):
        step = f" step {op.step.data}" if op.step.data != 1 else ""
        kind = f" {op.kind.data}" if op.kind.data != "serial" else ""
        reduce = " (reduce)" if is_reduce(op) else ""
        out.append(
            f"{pad}for {loop_name(op)} in {op.lower.data}..{op.upper.data}{step}{kind}{reduce}"
        )
        for inner in op.body.block.ops:
            _lines(inner, kernel, depth + 1, out)
    elif isinstance(op, sched.StoreOp):
        indices = "" if not op.indices else "[...]"
        out.append(f"{pad}{_buffer_label(op.buffer, kernel)}{indices} = ...")


def format_kernel(kernel: func.FuncOp) -> str:
    out = [f"@{kernel.sym_name.data}"]
    for op in kernel.body.block.ops:
        _lines(op, kernel, 1, out)
    return "\n".join(out)
