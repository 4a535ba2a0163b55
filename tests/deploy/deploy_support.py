"""Compiled models for the deploy tests, and a way to run an exported one in a process where
the compiler cannot be imported."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx

import ziggurat
from ziggurat.runtime import GraphModule, Module

COMPILER_PACKAGES = ("xdsl", "llvmlite", "onnx", "onnxruntime")

# Runs in the child: compiler imports fail as they would where it is not installed.
RUNNER = """
import json, sys

class NoCompiler:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked}:
            raise ImportError(f"{{name}} is not installed here")
        return None

sys.meta_path.insert(0, NoCompiler())
import numpy as np
from ziggurat.runtime import GraphModule, load_module

package, inputs, outputs = sys.argv[1:4]
runner = GraphModule(load_module(package))
with np.load(inputs) as given:
    runner.run(**{{name: given[name] for name in given.files}})
np.savez(outputs, *[runner.get_output(i) for i in range(runner.get_num_outputs())])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {blocked}
                or m.startswith("ziggurat.") and not m.startswith("ziggurat.runtime"))
print(json.dumps({{"uses_entry": runner.uses_entry, "loaded": loaded}}))
"""


def build(model: onnx.ModelProto, target: str = "llvm -mcpu=native") -> Module:
    module, params = ziggurat.from_onnx(model)
    return ziggurat.build(module, target=target, params=params)


def random_inputs(runner: GraphModule, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        name: rng.standard_normal(runner.get_input(name).shape).astype(np.float32)
        for name in runner.input_names
    }


def run_in_process(lib: Module, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    runner = GraphModule(lib)
    runner.run(**inputs)
    return [runner.get_output(i) for i in range(runner.get_num_outputs())]


def run_without_compiler(
    package: Path, inputs: dict[str, np.ndarray], folder: Path
) -> tuple[list[np.ndarray], dict]:
    """Outputs of the exported model run in a fresh process that cannot import the compiler,
    and what that process reports (whether it used the entry, compiler modules it loaded)."""
    np.savez(folder / "inputs.npz", **inputs)
    code = RUNNER.format(blocked=repr(set(COMPILER_PACKAGES)))
    result = subprocess.run(
        [sys.executable, "-c", code, str(package), str(folder / "inputs.npz"),
         str(folder / "outputs.npz")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with np.load(folder / "outputs.npz") as saved:
        outputs = [saved[f"arr_{n}"] for n in range(len(saved.files))]
    return outputs, json.loads(result.stdout.splitlines()[-1])
