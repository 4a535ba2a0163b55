"""numpy dtypes by the names plans use, bfloat16 included.

bfloat16 arrays are ml_dtypes' type (onnx's and onnxruntime's); importing ml_dtypes registers
the name with numpy. Without ml_dtypes installed the runtime still runs every other plan and
refuses a bfloat16 one by name.
"""

import numpy as np

try:
    import ml_dtypes  # noqa: F401  (registers the "bfloat16" dtype name with numpy)
except ImportError:  # pragma: no cover - ml_dtypes comes with onnx
    pass

NUMERIC_KINDS = "biufc"  # bool, signed, unsigned, float, complex: what kernels can hold


def dtype_named(name: str) -> np.dtype:
    """The dtype of a plan's dtype name; TypeError for a name numpy does not know."""
    return np.dtype(name)


def numeric_kind(dtype: np.dtype) -> str:
    """numpy's kind letter, with bfloat16 (a void-kind extension type) counted as a float."""
    return "f" if dtype.name == "bfloat16" else dtype.kind
