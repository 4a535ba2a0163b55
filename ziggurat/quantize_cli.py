"""The `--quantize` options of `ziggurat compile` and `ziggurat run`.

    ziggurat compile model.onnx -o model.zgt --quantize int8 --calibration data.npz
    ziggurat run model.onnx --quantize bf16

The calibration file is an .npz holding, per model input name, an array whose leading axis
counts the samples: `np.savez("data.npz", input=np.stack(samples))` for 20 samples of
(1, 3, 224, 224) stores input of shape (20, 1, 3, 224, 224).
"""

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ziggurat.core.errors import ZigguratError
from ziggurat.runtime.array_files import ArrayFileError, load_arrays


def add_quantize_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quantize", metavar="SCHEME", help="int8 (calibrated QDQ) or bf16 (bf16 products)"
    )
    parser.add_argument(
        "--calibration", metavar="FILE.npz", help="int8 calibration samples, per input name"
    )
    parser.add_argument(
        "--calibration-method", default="minmax", help="minmax (default), percentile or entropy"
    )
    parser.add_argument(
        "--quantize-skip",
        action="append",
        default=[],
        metavar="NAME",
        help="a convolution or matmul (result or weight name) to keep in float",
    )


@dataclass(frozen=True)
class Quantization:
    """What `--quantize` asked for, applied to an imported module before its build."""

    scheme: str
    samples: tuple[dict[str, np.ndarray], ...]
    method: str
    skip: tuple[str, ...]

    def __call__(self, module: object, params: dict) -> tuple[object, dict]:
        from ziggurat.quantizer import quantize

        return quantize(
            module,  # type: ignore[arg-type]
            params,
            calibration=self.samples,
            scheme=self.scheme,
            method=self.method,
            skip=self.skip,
        )


def calibration_samples(path: str) -> tuple[dict[str, np.ndarray], ...]:
    """The samples of a calibration .npz (see the module docstring)."""
    try:
        arrays = load_arrays(path, path)
    except (ArrayFileError, OSError) as err:
        raise ZigguratError(f"cannot read the calibration file: {err}") from err
    if not arrays:
        raise ZigguratError(f"the calibration file {path} holds no arrays")
    counts = {name: (value.shape[0] if value.ndim else 0) for name, value in arrays.items()}
    if len(set(counts.values())) != 1 or 0 in counts.values():
        listed = ", ".join(f"{name}: {count}" for name, count in counts.items())
        raise ZigguratError(
            f"the calibration file's arrays need one leading sample axis of one length; "
            f"got {listed}"
        )
    count = next(iter(counts.values()))
    return tuple({name: value[n] for name, value in arrays.items()} for n in range(count))


def quantization_of(args: argparse.Namespace) -> Callable[[object, dict], tuple] | None:
    """The quantization the options ask for, or None; refuses options that do not fit."""
    if args.quantize is None:
        if args.calibration is not None or args.quantize_skip:
            raise ZigguratError("--calibration and --quantize-skip need --quantize")
        return None
    if args.quantize == "bf16" and args.calibration is not None:
        raise ZigguratError("--quantize bf16 needs no calibration; drop --calibration")
    if args.quantize == "int8" and args.calibration is None:
        raise ZigguratError("--quantize int8 needs --calibration FILE.npz")
    samples = calibration_samples(args.calibration) if args.calibration else ()
    return Quantization(args.quantize, samples, args.calibration_method, tuple(args.quantize_skip))
