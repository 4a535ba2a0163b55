"""`ziggurat`: import, compile, run and benchmark ONNX models from the shell.

    ziggurat example                                 # compile the built-in MLP, check it, time it
    ziggurat import model.onnx -o model.mlir         # graph dialect + model.params.npz
    ziggurat compile model.onnx -o model.zgt         # deployable: shared object, plan, params
    ziggurat compile model.onnx -o model.ll          # LLVM IR (.ll), assembly (.s), object (.o)
    ziggurat run model.zgt --input data=x.npy --output y.npz   # no compiler needed
    ziggurat run model.onnx --input data=x.npy --check
    ziggurat bench model.zgt --profile               # latency, memory plan, per-kernel table
    ziggurat bench model.onnx --compare onnxruntime

User errors print one line and exit 1; `--traceback` shows the Python trace. Running a `.zgt`
imports only the runtime (numpy), as it would where the compiler is not installed.
"""

import argparse
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ziggurat.core.errors import ZigguratError
from ziggurat.quantize_cli import add_quantize_options, quantization_of
from ziggurat.runtime.array_files import ArrayFileError, load_array
from ziggurat.runtime.dtypes import numeric_kind
from ziggurat.runtime.errors import RuntimeModuleError
from ziggurat.tune_cli import add_tune_commands

if TYPE_CHECKING:
    import onnx
    from xdsl.dialects.builtin import ModuleOp

    from ziggurat.backend.variants import VariantModule
    from ziggurat.frontend.onnx.dynamic import DynamicModel
    from ziggurat.runtime import GraphModule, Module
    from ziggurat.runtime.profiled_module import ProfiledModule

NATIVE = "llvm -mcpu=native"


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
            inputs[name] = load_array(path)
        except ArrayFileError as err:
            raise ZigguratError(f"cannot read input {name!r}: {err}") from err
    return inputs


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
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


def static_import(
    model: "onnx.ModelProto | str | Path", shapes: dict[str, tuple[int, ...]], command: str
) -> "tuple[ModuleOp, dict[str, np.ndarray]]":
    """`from_onnx` for a command that needs one static graph: a model compiled per input
    shapes is refused, saying which inputs make it so."""
    from ziggurat.frontend.onnx.dynamic import DynamicModel
    from ziggurat.frontend.onnx.importer import from_onnx

    module, params = from_onnx(model, shape=shapes)
    if not isinstance(module, DynamicModel):
        return module, params
    reasons = [f"input {name!r} has symbolic dims" for name in module.symbolic_inputs]
    reasons += [f"input {name!r} decides shapes" for name in module.shape_inputs]
    raise ZigguratError(
        f"{command} needs a static model, but {'; '.join(reasons)}: fix symbolic dims with "
        "--shape NAME=D0,D1,...; inputs that decide shapes are given at run time (ziggurat run)"
    )


def cmd_import(args: argparse.Namespace) -> None:
    from ziggurat.core.context import ir_text
    from ziggurat.runtime.params import save_params

    module, params = static_import(args.model, _parse_shapes(args.shape), "import")
    output = Path(args.output)
    params_path = output.with_suffix(".params.npz")
    _write_atomically(params_path, lambda p: save_params(p, params))
    _write_atomically(output, lambda p: p.write_text(ir_text(module)))
    print(f"wrote {output} and {params_path} ({len(params)} weights)")


def cmd_compile(args: argparse.Namespace) -> None:
    from ziggurat.backend.compile import Artifacts
    from ziggurat.core.context import ir_text
    from ziggurat.core.instruments import PassTiming
    from ziggurat.runtime import Module

    output = Path(args.output)
    kinds = {".zgt": "package", ".ll": "llvm", ".s": "asm", ".o": "object", ".mlir": "target"}
    if output.suffix not in kinds:
        raise ZigguratError(
            f"cannot tell what to write from {output.name!r}: use .zgt (deployable model), "
            ".ll (LLVM IR), .s (assembly), .o (object code) or .mlir (target-level IR)"
        )
    target = args.target or NATIVE
    started = time.perf_counter()
    module, params = static_import(args.model, _parse_shapes(args.shape), "compile")
    imported = time.perf_counter() - started
    kind = kinds[output.suffix]
    lib = _build(
        module,
        params,
        target,
        args.opt_level,
        args.tuning_log,
        keep_target_ir=kind == "target",
        quantization=quantization_of(args),
    )
    assert isinstance(lib, Module)
    artifacts = lib.keepalive
    assert isinstance(artifacts, Artifacts)
    started = time.perf_counter()
    if kind == "package":
        lib.export_library(output, cc=args.cc)
    elif kind == "llvm":
        _write_atomically(output, lambda p: p.write_text(artifacts.llvm_ir))
    elif kind == "asm":
        _write_atomically(output, lambda p: p.write_text(artifacts.assembly()))
    elif kind == "object":
        _write_atomically(output, lambda p: p.write_bytes(artifacts.object_code()))
    else:
        target_ir = artifacts.target_ir
        assert target_ir is not None, "a target-IR build does not come from the cache"
        _write_atomically(output, lambda p: p.write_text(ir_text(target_ir)))
    print(f"wrote {output} ({len(lib.plan['launches'])} kernel launches, target {target})")
    if kind in ("package", "object") and not artifacts.runnable:
        print(f"note: {output} holds code for {lib.target!r}; it cannot run on this machine")
    if args.timing:
        timing = PassTiming()
        timing.add("import (ONNX to graph IR)", imported)
        built = lib.build_timing
        assert isinstance(built, PassTiming)
        for n, (name, seconds) in enumerate(built.rows):
            timing.add(name, seconds, detail=n in built.detail_rows)
        timing.add(f"write {output.suffix}", time.perf_counter() - started)
        print(timing.report(), end="")


def _reference_outputs(
    model_path: str | object, inputs: dict[str, np.ndarray]
) -> tuple[str, list[np.ndarray]]:
    """Outputs from onnxruntime when installed, else from Ziggurat's numpy reference."""
    import onnx

    model = model_path if isinstance(model_path, onnx.ModelProto) else onnx.load(str(model_path))
    try:
        import onnxruntime
    except ImportError:
        from ziggurat.core.reference import run_reference
        from ziggurat.frontend.onnx.dynamic import DynamicModel
        from ziggurat.frontend.onnx.importer import from_onnx

        shapes = {name: value.shape for name, value in inputs.items()}
        module, params = from_onnx(model, shape=shapes)
        if isinstance(module, DynamicModel):
            feeds = module.signature.checked_feeds(inputs)
            proto, shapes = module.specialize(feeds)
            module, params = static_import(proto, shapes, "the numpy reference")
            inputs = {name: feeds[name] for name in shapes}
        return "numpy reference", run_reference(module, params, inputs)
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return f"onnxruntime {onnxruntime.__version__}", session.run(None, inputs)


def _is_package(model: object) -> bool:
    return isinstance(model, str | Path) and str(model).endswith(".zgt")


def _load_or_compile(
    model: "onnx.ModelProto | str | Path",
    shapes: dict[str, tuple[int, ...]],
    target: str | None,
    opt_level: int,
    tuning_log: str | None = None,
    quantization: Callable[[object, dict], tuple] | None = None,
) -> tuple["Module | VariantModule | ProfiledModule", str]:
    """The runnable module, and a line saying where it came from. A `.zgt` loads with the
    runtime alone; anything else is an ONNX model to compile."""
    started = time.perf_counter()
    if _is_package(model):
        from ziggurat.runtime import load_module

        if shapes or target:
            raise ZigguratError(f"{model} is already compiled: --shape and --target do not apply")
        if quantization:
            raise ZigguratError(f"{model} is already compiled: --quantize does not apply")
        lib = load_module(str(model))
        elapsed = time.perf_counter() - started
        return lib, f"loaded {model} in {elapsed * 1e3:.1f} ms, {_short(lib.target)}"
    from ziggurat.frontend.onnx.dynamic import DynamicModel
    from ziggurat.frontend.onnx.importer import from_onnx

    module, params = from_onnx(model, shape=shapes)
    built = _build(
        module, params, target or NATIVE, opt_level, tuning_log, quantization=quantization
    )
    if isinstance(module, DynamicModel):
        return built, f"compiles a variant per input shapes for {_short(built.target)}"
    return built, f"compiled in {time.perf_counter() - started:.2f} s for {_short(built.target)}"


def _build(
    module: "ModuleOp | DynamicModel",
    params: dict[str, np.ndarray],
    target: str,
    opt_level: int,
    tuning_log: str | None,
    keep_target_ir: bool = False,
    quantization: Callable[[object, dict], tuple] | None = None,
) -> "Module | VariantModule":
    """`ziggurat.build`, with the best configs of a tuning log when one is given, of the
    module quantized first when asked (ziggurat/quantize_cli.py)."""
    from ziggurat.builder import build

    if quantization is not None:
        module, params = quantization(module, params)

    def built() -> "Module | VariantModule":
        return build(
            module, target=target, params=params, opt_level=opt_level, keep_target_ir=keep_target_ir
        )

    if tuning_log is None:
        return built()
    from ziggurat.tune import apply_history_best

    with apply_history_best(tuning_log, target=target):
        return built()


def _short(target: str) -> str:
    return target.split(" -mattr")[0]


def _complete_inputs(runner: "GraphModule", inputs: dict[str, np.ndarray]) -> None:
    """Checks the inputs given, then fills in the others: standard normal floats, zeros of
    any other dtype."""
    from ziggurat.runtime.dispatch import VariantDispatch

    for name, value in inputs.items():
        runner.set_input(name, value)
    rng = np.random.default_rng(0)
    for name in runner.input_names:
        if name not in inputs and isinstance(runner.lib, VariantDispatch):
            raise ZigguratError(
                f"input {name!r} not given: the model is compiled per input shapes, so every "
                "input needs --input NAME=FILE.npy"
            )
        if name not in inputs:
            template = runner.get_input(name)
            floating = numeric_kind(template.dtype) == "f"
            if floating:
                inputs[name] = rng.standard_normal(template.shape).astype(template.dtype)
            else:
                inputs[name] = np.zeros_like(template)
            print(
                f"input {name!r} not given: {'random' if floating else 'zero'} "
                f"{template.dtype}{list(template.shape)}"
            )


def _save_outputs(path: Path, outputs: dict[str, np.ndarray]) -> None:
    """An `.npz` keyed by output name, written member by member as np.savez does, since a
    name such as "file" cannot pass through np.savez's keywords."""

    def write(temp: Path) -> None:
        with zipfile.ZipFile(temp, "w") as archive:
            for name, value in outputs.items():
                with archive.open(f"{name}.npy", "w") as member:
                    np.lib.format.write_array(member, value, allow_pickle=False)

    _write_atomically(path, write)


def run_model(
    model: "onnx.ModelProto | str | Path",
    inputs: dict[str, np.ndarray],
    shapes: dict[str, tuple[int, ...]],
    target: str | None,
    opt_level: int,
    check: bool,
    repeat: int,
    output: Path | None = None,
    tuning_log: str | None = None,
    quantization: Callable[[object, dict], tuple] | None = None,
) -> int:
    """Loads a `.zgt` or compiles an ONNX model, runs it, optionally checks it against a
    reference and saves its outputs, prints latency; returns the exit code."""
    from ziggurat.runtime import GraphModule

    if not _is_package(model):
        shapes = {**shapes, **{name: value.shape for name, value in inputs.items()}}
    lib, origin = _load_or_compile(model, shapes, target, opt_level, tuning_log, quantization)
    runner = GraphModule(lib)
    _complete_inputs(runner, inputs)
    runner.run(**inputs)
    outputs = [runner.get_output(i) for i in range(runner.get_num_outputs())]
    print(origin)
    variant_stats = getattr(lib, "variant_stats", None)
    if variant_stats is not None:
        print(f"variants: {variant_stats()}")
    for name, value in zip(runner.output_names, outputs, strict=True):
        print(f"output {name!r}: shape {list(value.shape)}, mean {value.mean():.6g}")
    if output is not None:
        _save_outputs(output, dict(zip(runner.output_names, outputs, strict=True)))
        print(f"wrote {output}")
    status = 0
    if check:
        if _is_package(model):
            raise ZigguratError("--check needs the ONNX model, not a compiled .zgt")
        reference_name, expected = _reference_outputs(model, dict(inputs))
        worst = max(float(np.max(np.abs(o - e))) for o, e in zip(outputs, expected, strict=True))
        ok = all(
            np.allclose(o, e, rtol=1e-4, atol=1e-4) for o, e in zip(outputs, expected, strict=True)
        )
        print(
            f"check against {reference_name}: max abs diff {worst:.3g} -> {'OK' if ok else 'MISMATCH'}"
        )
        status = 0 if ok else 1
    if repeat > 0:
        timing = runner.benchmark(repeat=repeat)
        print(
            f"latency: median {timing.median * 1e3:.4f} ms, mean {timing.mean * 1e3:.4f} ms "
            f"over {repeat} runs"
        )
    return status


def cmd_run(args: argparse.Namespace) -> int:
    if args.check and args.quantize is not None:
        raise ZigguratError(
            "--check compares with the float model at 1e-4; a quantized build differs from it "
            "by design (compare top-1 answers instead)"
        )
    return run_model(
        args.model,
        _parse_inputs(args.input),
        _parse_shapes(args.shape),
        args.target,
        args.opt_level,
        args.check,
        args.repeat,
        Path(args.output) if args.output else None,
        args.tuning_log,
        quantization_of(args),
    )


def _onnxruntime_seconds(model: object, inputs: dict[str, np.ndarray], repeat: int) -> float:
    import onnx

    from ziggurat.runtime.benchmark import measure

    try:
        import onnxruntime
    except ImportError:
        raise ZigguratError("--compare onnxruntime needs onnxruntime installed") from None
    proto = model if isinstance(model, onnx.ModelProto) else onnx.load(str(model))
    session = onnxruntime.InferenceSession(
        proto.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return measure(lambda: session.run(None, inputs), repeat=repeat).median


def cmd_bench(args: argparse.Namespace) -> int:
    """Latency summary, memory plan, and optionally onnxruntime's latency and the
    per-kernel profile."""
    from ziggurat.runtime import GraphModule

    if args.compare and _is_package(args.model):
        raise ZigguratError(
            f"--compare onnxruntime needs the ONNX model; {args.model} is already compiled"
        )
    inputs, shapes = _parse_inputs(args.input), _parse_shapes(args.shape)
    if not _is_package(args.model):
        shapes = {**shapes, **{name: value.shape for name, value in inputs.items()}}
    lib, origin = _load_or_compile(args.model, shapes, args.target, args.opt_level, args.tuning_log)
    runner = GraphModule(lib)
    _complete_inputs(runner, inputs)
    for name, value in inputs.items():
        runner.set_input(name, value)
    print(origin)
    timing = runner.benchmark(repeat=args.repeat, warmup=min(5, args.repeat))
    print(timing)
    print(f"memory: {runner.memory_report()}")
    if args.compare:
        theirs = _onnxruntime_seconds(args.model, inputs, args.repeat)
        print(
            f"onnxruntime: median {theirs * 1e3:.4f} ms; ziggurat/onnxruntime = "
            f"{timing.median / theirs:.2f}"
        )
    if args.profile:
        print(runner.profile(repeat=args.repeat))
    return 0


def cmd_example(args: argparse.Namespace) -> int:
    import onnx

    from ziggurat.examples import mlp_model

    model = mlp_model(args.batch)
    if args.save_model:
        _write_atomically(Path(args.save_model), lambda p: onnx.save(model, str(p)))
        print(f"wrote {args.save_model}")
        return 0
    print(f"built-in example: MLP 784-512-512-10, batch {args.batch}")
    return run_model(
        model, {}, {}, args.target, args.opt_level, True, args.repeat, None, args.tuning_log
    )


def _add_build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", help=f"target string (TVM syntax; default {NATIVE!r})")
    parser.add_argument("--opt-level", type=int, default=3, choices=range(4), help="0 to 3")
    parser.add_argument(
        "--tuning-log", metavar="FILE.jsonl", help="build with the best configs of a tuning log"
    )
    add_plugin_option(parser)


def add_plugin_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--load-plugin",
        action="append",
        default=[],
        metavar="FILE.py|MODULE",
        help="import passes, dialects or schedule templates of your own first",
    )


def _add_model_options(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("model", help=help_text)
    parser.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy")
    parser.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,...")
    _add_build_options(parser)


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

    comp = commands.add_parser(
        "compile", help="ONNX to a deployable .zgt, LLVM IR, assembly, object or target IR"
    )
    comp.add_argument("model")
    comp.add_argument("-o", "--output", required=True, help=".zgt, .ll, .s, .o or .mlir")
    comp.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,...")
    comp.add_argument("--cc", help="linker for .zgt (default $CC, then cc); a cross linker too")
    comp.add_argument(
        "--timing",
        action="store_true",
        help="print where the time went: import, each pass, the compile units, writing",
    )
    _add_build_options(comp)
    add_quantize_options(comp)
    comp.set_defaults(handler=cmd_compile)

    run = commands.add_parser("run", help="run a .zgt, or compile and run an ONNX model")
    _add_model_options(run, "model.zgt or model.onnx")
    run.add_argument("--output", metavar="FILE.npz", help="save the outputs, by name")
    run.add_argument("--check", action="store_true", help="compare with onnxruntime (ONNX only)")
    run.add_argument("--repeat", type=int, default=100, help="timed runs after the first (0: none)")
    add_quantize_options(run)
    run.set_defaults(handler=cmd_run)

    bench = commands.add_parser("bench", help="latency, memory plan and per-kernel profile")
    _add_model_options(bench, "model.zgt or model.onnx")
    bench.add_argument("--repeat", type=int, default=50)
    bench.add_argument("--compare", choices=["onnxruntime"], help="time a peer on the same inputs")
    bench.add_argument("--profile", action="store_true", help="print the per-kernel table")
    bench.set_defaults(handler=cmd_bench)
    add_tune_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        if getattr(args, "load_plugin", []):
            from ziggurat.plugins import load_plugin

            for plugin in args.load_plugin:
                load_plugin(plugin)
        return int(args.handler(args) or 0)
    except (ZigguratError, RuntimeModuleError) as err:
        if args.traceback:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 1
