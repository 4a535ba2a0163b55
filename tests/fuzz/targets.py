"""What each fuzzed input is given to, and the promise checked on the way out.

The promise, for every input: it works, or it is refused with a ZigguratError or a runtime
error whose message is not empty. Through a CLI: exit code 0 or 1, no Python traceback, no
signal, no hang, no output file left after a failure, and no file written anywhere but the
output path. Anything else raises BrokenPromise (or is the escaping exception itself).
"""

import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from ziggurat.core.errors import ZigguratError
from ziggurat.runtime.errors import RuntimeModuleError

from .model_edits import onnx_models
from .seeds import FUZZ_TARGET, seed_model_bytes, seed_params_bytes
from .strategies import (
    Case,
    PackageCase,
    ir_texts,
    packages,
    params_files,
    tuning_logs,
)

USER_ERRORS = (ZigguratError, RuntimeModuleError)
ACCEPTED, REFUSED = "accepted", "refused"
CHECK_SECONDS = 120
"""Longer than any tiny input takes: a check still running by then has hung."""


class BrokenPromise(AssertionError):
    """A hostile input got an answer other than success or one clear error."""


class Hang(BrokenPromise):
    """A check ran past CHECK_SECONDS."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raises Hang in the main thread once `seconds` pass (Python code only)."""

    def expire(signum: int, frame: object) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def refused(err: BaseException) -> str:
    if not str(err).strip():
        raise BrokenPromise(f"{type(err).__name__} with an empty message") from err
    return REFUSED


def files_under(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


def _check_exit(
    code: object, stderr: str, folder: Path, before: set[Path], outputs: Sequence[Path]
) -> str:
    if code not in (0, 1):
        raise BrokenPromise(f"exit status {code}; stderr: {stderr[-2000:]}")
    if "Traceback" in stderr:
        raise BrokenPromise(f"a traceback: {stderr[-2000:]}")
    if code == 1 and not stderr.strip():
        raise BrokenPromise("exit 1 without a message")
    if code == 1 and any(path.exists() for path in outputs):
        raise BrokenPromise(f"failed, yet left {[p.name for p in outputs if p.exists()]}")
    left = files_under(folder) - before - set(outputs)
    left = {path for path in left if not path.is_dir() or not any(path.iterdir())}
    if left:
        raise BrokenPromise(f"wrote {sorted(str(p.relative_to(folder)) for p in left)}")
    return ACCEPTED if code == 0 else REFUSED


def cli_in_process(
    main: Callable[[Sequence[str]], int],
    argv: Sequence[str],
    folder: Path,
    outputs: Sequence[Path] = (),
) -> str:
    """Runs a CLI's `main` here, its output captured; an exception escaping it is a bug."""
    before = files_under(folder)
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code: object = main(argv)
        except SystemExit as exit:
            code = exit.code
    return _check_exit(code, stderr.getvalue(), folder, before, outputs)


def cli_subprocess(
    program: str, argv: Sequence[str], folder: Path, outputs: Sequence[Path] = ()
) -> str:
    """Runs a CLI in a child process with its own temporary folder inside `folder`, so
    signals, hangs and stray files show."""
    scratch = folder / "tmp"
    scratch.mkdir(exist_ok=True)
    before = files_under(folder)
    launcher = f"import sys; from ziggurat.{program} import main; sys.exit(main())"
    env = {**os.environ, "TMPDIR": str(scratch)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", launcher, *argv],
            capture_output=True,
            text=True,
            cwd=folder,
            env=env,
            timeout=CHECK_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise Hang(f"{program} {' '.join(argv)} still running after {CHECK_SECONDS} s") from None
    if done.returncode < 0:
        raise BrokenPromise(f"killed by signal {-done.returncode}; stderr: {done.stderr[-2000:]}")
    return _check_exit(done.returncode, done.stderr, folder, before, outputs)


def _run_with_zeros(lib: object) -> None:
    from ziggurat.runtime import GraphModule

    runner = GraphModule(lib)
    for name in runner.input_names:
        template = runner.get_input(name)
        runner.set_input(name, np.zeros(template.shape, template.dtype))
    runner.run()


def _cli_main(program: str) -> Callable[[Sequence[str]], int]:
    if program == "opt":
        from ziggurat.opt import main as opt_main

        return opt_main
    from ziggurat.cli import main

    return main


def run_in_process(
    program: str, argv: Sequence[str], folder: Path, outputs: Sequence[Path] = ()
) -> str:
    """`cli_subprocess`'s counterpart for `main` called here: "cli" or "opt"."""
    return cli_in_process(_cli_main(program), argv, folder, outputs)


def opt_outputs(output: Path) -> tuple[Path, Path]:
    """What ziggurat-opt (or `ziggurat import`) writes for `-o output`: the IR and, beside
    it, the weights."""
    return output, output.with_suffix(".params.npz")


# ONNX models: import, build at opt level 2 (constant folding, batch-norm folding), run.


def check_onnx(case: Case, folder: Path) -> str:
    from ziggurat.builder import build
    from ziggurat.frontend.onnx.importer import from_onnx

    path = folder / "model.onnx"
    path.write_bytes(case.data)
    try:
        module, params = from_onnx(str(path))
        _run_with_zeros(build(module, target=FUZZ_TARGET, params=params, opt_level=2))
    except USER_ERRORS as err:
        return refused(err)
    return ACCEPTED


def cli_onnx(case: Case, folder: Path, run: Callable[..., str]) -> str:
    """`ziggurat import` (IR and params), then `ziggurat compile` to a `.zgt`."""
    model = folder / "model.onnx"
    model.write_bytes(case.data)
    ir = folder / "model.mlir"
    imported = run("cli", ["import", str(model), "-o", str(ir)], folder, opt_outputs(ir))
    output = folder / "model.zgt"
    argv = ["compile", str(model), "-o", str(output), "--target", FUZZ_TARGET]
    compiled = run("cli", argv, folder, (output,))
    return ACCEPTED if ACCEPTED in (imported, compiled) else REFUSED


# IR text through ziggurat-opt: parse, verify, graph passes, lowering to LLVM IR.

OPT_PIPELINES = (
    "graph-canonicalize,graph-eliminate-dead,cse,graph-fold-constants,graph-simplify-inference",
    "graph-fuse-horizontal,graph-alter-layout{block=4 min-convs=1},graph-fuse-ops",
    "convert-graph-to-te,te-inline-computes,convert-te-to-sched,sched-expand-math,"
    "sched-default-schedule,sched-parallelize,sched-lower-unroll,sched-lower-vectorize,"
    'convert-sched-to-target{target="llvm"},convert-target-to-llvm',
)


def _opt_files(case: Case, folder: Path) -> Path:
    source = folder / "model.mlir"
    source.write_bytes(case.data)
    (folder / "model.params.npz").write_bytes(seed_params_bytes())
    return source


def check_ir(case: Case, folder: Path) -> str:
    source = _opt_files(case, folder)
    outcomes = set()
    for pipeline in OPT_PIPELINES:
        output = folder / "out.mlir"
        argv = [str(source), "-p", pipeline, "-o", str(output), "--no-reproducer"]
        outcomes.add(run_in_process("opt", argv, folder, opt_outputs(output)))
        for path in opt_outputs(output):
            path.unlink(missing_ok=True)
    return ACCEPTED if ACCEPTED in outcomes else REFUSED


def cli_ir(case: Case, folder: Path, run: Callable[..., str]) -> str:
    source = _opt_files(case, folder)
    output = folder / "out.mlir"
    argv = [str(source), "-p", OPT_PIPELINES[-1], "-o", str(output), "--no-reproducer"]
    return run("opt", argv, folder, opt_outputs(output))


# params files: read directly, and as ziggurat-opt's --params for the CNN's graph IR.


def check_params(case: Case, folder: Path) -> str:
    from ziggurat.runtime.params import load_params

    path = folder / "weights.npz"
    path.write_bytes(case.data)
    try:
        load_params(path)
    except USER_ERRORS as err:
        return refused(err)
    return cli_params(case, folder, run_in_process)


def cli_params(case: Case, folder: Path, run: Callable[..., str]) -> str:
    from .seeds import seed_graph_ir

    source, weights = folder / "graph.mlir", folder / "weights.npz"
    source.write_text(seed_graph_ir()[0])
    weights.write_bytes(case.data)
    output = folder / "out.mlir"
    argv = [str(source), "--params", str(weights), "-p", OPT_PIPELINES[0], "-o", str(output)]
    return run("opt", [*argv, "--no-reproducer"], folder, opt_outputs(output))


# .zgt packages: load, and run when the checksums still hold (a re-signed package is
# trusted code: its plan and machine code are run as they are).


def check_package(case: Case, folder: Path) -> str:
    from ziggurat.runtime import GraphModule, load_module

    path = folder / "model.zgt"
    path.write_bytes(case.data)
    try:
        lib = load_module(path)
        if isinstance(case, PackageCase) and case.resigned:
            GraphModule(lib)
        else:
            _run_with_zeros(lib)
    except USER_ERRORS as err:
        return refused(err)
    return ACCEPTED


def cli_package(case: Case, folder: Path, run: Callable[..., str]) -> str:
    path = folder / "model.zgt"
    path.write_bytes(case.data)
    output = folder / "out.npz"
    argv = ["run", str(path), "--repeat", "0", "--output", str(output)]
    return run("cli", argv, folder, (output,))


# tuning logs: read, shown, merged, and their configs applied in a build.


def check_tuning_log(case: Case, folder: Path) -> str:
    from ziggurat.tune.records import best_records, load_records

    path = folder / "tune.jsonl"
    path.write_bytes(case.data)
    try:
        best_records(load_records(path))
    except USER_ERRORS as err:
        return refused(err)
    main = _cli_main("cli")
    cli_in_process(main, ["tune", "show", str(path)], folder)
    merged = folder / "merged.jsonl"
    outcome = cli_in_process(
        main, ["tune", "merge", str(path), "-o", str(merged)], folder, [merged]
    )
    merged.unlink(missing_ok=True)
    if outcome == ACCEPTED:
        outcome = cli_tuning_log(case, folder, run_in_process)
    return outcome


def cli_tuning_log(case: Case, folder: Path, run: Callable[..., str]) -> str:
    log, model = folder / "tune.jsonl", folder / "mlp.onnx"
    log.write_bytes(case.data)
    model.write_bytes(seed_model_bytes("mlp"))
    output = folder / "mlp.zgt"
    argv = ["compile", str(model), "-o", str(output), "--target", FUZZ_TARGET]
    return run("cli", [*argv, "--tuning-log", str(log)], folder, (output,))


@dataclass(frozen=True)
class Target:
    """One kind of hostile input: how to make it, check it here, and check it through its
    CLI in a child process."""

    name: str
    strategy: Callable[[], st.SearchStrategy[Case]]
    check: Callable[[Case, Path], str]
    cli_check: Callable[[Case, Path, Callable[..., str]], str]


TARGETS = {
    target.name: target
    for target in (
        Target("onnx", onnx_models, check_onnx, cli_onnx),
        Target("ir", ir_texts, check_ir, cli_ir),
        Target("params", params_files, check_params, cli_params),
        Target("zgt", packages, check_package, cli_package),
        Target("tuning-log", tuning_logs, check_tuning_log, cli_tuning_log),
    )
}
