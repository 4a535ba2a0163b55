"""Errors in what the runtime is given (a plan, a package file, inputs, a host that cannot run
the code): the message is the whole story, so the CLI prints it as one line."""


class RuntimeModuleError(Exception):
    """Base of the runtime's user-facing errors."""


class PlanError(RuntimeModuleError, ValueError):
    """The execution plan is malformed, does not match the params, or names a function the
    compiled code lacks."""


class RuntimeInputError(RuntimeModuleError, ValueError):
    """A wrong input or output name, index, shape or dtype."""


class PackageError(RuntimeModuleError):
    """A `.zgt` file that cannot be read: missing, truncated, corrupt, or of another format
    version."""


class HostMismatchError(RuntimeModuleError):
    """The compiled code needs an architecture or CPU features this machine lacks."""


class LinkError(RuntimeModuleError):
    """The system linker is missing or could not make a shared object."""


class ResourceLimitError(RuntimeModuleError):
    """A model or input whose buffers would not fit in the memory limit."""


class RunError(RuntimeModuleError):
    """A run that went wrong where the model defines no result (an integer division by
    zero), reported by the compiled code's checks after the run."""
