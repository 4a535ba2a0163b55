"""`ziggurat`: import, compile and run ONNX models from the shell.

    ziggurat example                                 # compile the built-in MLP, check it, time it
    ziggurat import model.onnx -o model.mlir         # graph dialect + model.params.npz
    ziggurat compile model.onnx -o model.ll          # LLVM IR (.ll), assembly (.s), object (.o)
    ziggurat run model.onnx --input data=x.npy --check

User errors print one line and exit 1; `--traceback` shows the Python trace.
"""

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ziggurat.errors import ZigguratError


def _parse_shapes(items: Sequence[str]) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for item in items:
        name, sep, dims = item.rpartition("=")
        try:
            if not sep or not name:
                raise ValueError
            shapes[name] = tuple(int(d) for d in dims.split(",") if d.strip())
        except ValueError:
            raise ZigguratError(f"--shape expects NAME=D0,D1,..., got {item!r}") from None
    return shapes


def _parse_inputs(items: Sequence[str]) -> dict[str, np.ndarray]:
    inputs: dict[str, np.ndarray] = {}
    for item in items:
        name, sep, path = item.rpartition("=")
        if not sep or not name:
            raise ZigguratError(f"--input expects NAME=FILE.npy, got {item!r}")
        try:
            inputs[name] = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise ZigguratError(f"cannot read input {name!r} from {path}: {err}") from err
    return inputs


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Writes through a temporary file beside `path`, so a failure leaves no partial output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(temp))
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def cmd_import(args: argparse.Namespace) -> None:
    from ziggurat.context import ir_text
    from ziggurat.frontend.onnx.importer import from_onnx
    from ziggurat.runtime.params import save_params

    module, params = from_onnx(args.model, shape=_parse_shapes(args.shape))
    output = Path(args.output)
    params_path = output.with_suffix(".params.npz")
    _write_atomically(params_path, lambda p: save_params(p, params))
    _write_atomically(output, lambda p: p.write_text(ir_text(module)))
    print(f"wrote {output} and {params_path} ({len(params)} weights)")


def cmd_compile(args: argparse.Namespace) -> None:
    from ziggurat.builder import build
    from ziggurat.context import ir_text
    from ziggurat.frontend.onnx.importer import from_onnx

    output = Path(args.output)
    kinds = {".ll": "llvm", ".s": "asm", ".o": "object", ".mlir": "target"}
    if output.suffix not in kinds:
        raise ZigguratError(
            f"cannot tell what to write from {output.name!r}: use .ll (LLVM IR), .s (assembly), "
            ".o (object code) or .mlir (target-level IR)"
        )
    module, params = from_onnx(args.model, shape=_parse_shapes(args.shape))
    lib = build(module, target=args.target, params=params, opt_level=args.opt_level)
    artifacts = lib.keepalive
    kind = kinds[output.suffix]
    if kind == "llvm":
        _write_atomically(output, lambda p: p.write_text(artifacts.optimized_llvm_ir))
    elif kind == "asm":
        _write_atomically(output, lambda p: p.write_text(artifacts.compiled.assembly()))
    elif kind == "object":
        _write_atomically(output, lambda p: p.write_bytes(artifacts.compiled.object_code()))
    else:
        _write_atomically(output, lambda p: p.write_text(ir_text(artifacts.target_ir)))
    print(f"wrote {output} ({len(lib.plan['launches'])} kernel launches, target {args.target})")


def _reference_outputs(
    model_path: str | object, inputs: dict[str, np.ndarray]
) -> tuple[str, list[np.ndarray]]:
    """Outputs from onnxruntime when installed, else from Ziggurat's numpy reference."""
    import onnx

    model = model_path if isinstance(model_path, onnx.ModelProto) else onnx.load(str(model_path))
    try:
        import onnxruntime
    except ImportError:
        from ziggurat.frontend.onnx.importer import from_onnx
        from ziggurat.reference import run_reference

        shapes = {name: value.shape for name, value in inputs.items()}
        module, params = from_onnx(model, shape=shapes)
        return "numpy reference", run_reference(module, params, inputs)
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return f"onnxruntime {onnxruntime.__version__}", session.run(None, inputs)


def run_model(
    model: object,
    inputs: dict[str, np.ndarray],
    shapes: dict[str, tuple[int, ...]],
    target: str,
    opt_level: int,
    check: bool,
    repeat: int,
) -> int:
    """Compiles, runs, optionally checks against a reference, prints latency; exit code."""
    from ziggurat.builder import build
    from ziggurat.frontend.onnx.importer import from_onnx
    from ziggurat.runtime import GraphModule

    started = time.perf_counter()
    module, params = from_onnx(model, shape={**shapes, **{k: v.shape for k, v in inputs.items()}})
    lib = build(module, target=target, params=params, opt_level=opt_level)
    compile_seconds = time.perf_counter() - started
    runner = GraphModule(lib)
    rng = np.random.default_rng(0)
    for index, name in enumerate(runner.input_names):
        if name not in inputs:
            shape = lib.plan["buffers"][lib.plan["inputs"][index]]["shape"]
            inputs[name] = rng.standard_normal(shape).astype(np.float32)
    runner.run(**inputs)
    outputs = [runner.get_output(i) for i in range(runner.get_num_outputs())]
    print(f"compiled in {compile_seconds:.2f} s for {lib.target.split(' -mattr')[0]}")
    for name, value in zip(runner.output_names, outputs, strict=True):
        print(f"output {name!r}: shape {list(value.shape)}, mean {value.mean():.6g}")
    status = 0
    if check:
        reference_name, expected = _reference_outputs(model, dict(inputs))
        worst = max(float(np.max(np.abs(o - e))) for o, e in zip(outputs, expected, strict=True))
        ok = all(
            np.allclose(o, e, rtol=1e-4, atol=1e-4) for o, e in zip(outputs, expected, strict=True)
        )
        print(
            f"check against {reference_name}: max abs diff {worst:.3g} -> {'OK' if ok else 'MISMATCH'}"
        )
        status = 0 if ok else 1
    timing = runner.benchmark(repeat=repeat, **inputs)
    print(
        f"latency: median {timing.median * 1e3:.4f} ms, mean {timing.mean * 1e3:.4f} ms "
        f"over {repeat} runs"
    )
    return status


def cmd_run(args: argparse.Namespace) -> int:
    return run_model(
        args.model,
        _parse_inputs(args.input),
        _parse_shapes(args.shape),
        args.target,
        args.opt_level,
        args.check,
        args.repeat,
    )


def cmd_example(args: argparse.Namespace) -> int:
    import onnx

    from ziggurat.examples import mlp_model

    model = mlp_model(args.batch)
    if args.save_model:
        _write_atomically(Path(args.save_model), lambda p: onnx.save(model, str(p)))
        print(f"wrote {args.save_model}")
        return 0
    print(f"built-in example: MLP 784-512-512-10, batch {args.batch}")
    return run_model(model, {}, {}, args.target, args.opt_level, True, args.repeat)


def _add_build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="llvm -mcpu=native", help="target string (TVM syntax)")
    parser.add_argument("--opt-level", type=int, default=3, choices=range(4), help="0 to 3")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ziggurat", description="Ziggurat deep-learning compiler")
    parser.add_argument("--traceback", action="store_true", help="show Python tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)

    example = commands.add_parser("example", help="compile, check and time the built-in MLP")
    example.add_argument("--batch", type=int, default=1)
    example.add_argument("--repeat", type=int, default=200)
    example.add_argument("--save-model", metavar="FILE.onnx", help="only write the model to a file")
    _add_build_options(example)
    example.set_defaults(handler=cmd_example)

    imp = commands.add_parser("import", help="ONNX to graph-dialect IR and a params file")
    imp.add_argument("model")
    imp.add_argument("-o", "--output", required=True)
    imp.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,...")
    imp.set_defaults(handler=cmd_import)

    comp = commands.add_parser("compile", help="ONNX to LLVM IR, assembly, object or target IR")
    comp.add_argument("model")
    comp.add_argument("-o", "--output", required=True)
    comp.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,...")
    _add_build_options(comp)
    comp.set_defaults(handler=cmd_compile)

    run = commands.add_parser("run", help="compile and run an ONNX model on random or given inputs")
    run.add_argument("model")
    run.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy")
    run.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,...")
    run.add_argument("--check", action="store_true", help="compare with onnxruntime")
    run.add_argument("--repeat", type=int, default=100)
    _add_build_options(run)
    run.set_defaults(handler=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ZigguratError as err:
        if args.traceback:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 1
