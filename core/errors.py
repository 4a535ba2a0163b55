"""Errors meant for users: the message is the whole story, so the CLIs print it without a
traceback. Everything else that escapes is a bug in Ziggurat."""


class ZigguratError(Exception):
    """Base of all user-facing errors."""


class UnsupportedOpError(ZigguratError, NotImplementedError):
    """One or more model ops (or attribute values) that Ziggurat cannot compile.

    `ops` maps each unsupported op type to the names of the nodes that use it, so a single
    error lists everything missing at once.
    """

    def __init__(self, ops: dict[str, list[str]], detail: str = ""):
        self.ops = ops
        listed = "; ".join(
            f"{op_type} (nodes: {', '.join(repr(n) for n in names)})"
            for op_type, names in sorted(ops.items())
        )
        message = f"unsupported ONNX op{'s' if len(ops) > 1 else ''}: {listed}"
        super().__init__(f"{message}. {detail}".strip() if detail else message)


class ModelImportError(ZigguratError):
    """The model file or graph is malformed, or contradicts the given input shapes."""


class CompileError(ZigguratError):
    """A pipeline, pass option or target string is invalid, or a pass failed."""
