"""How parallel kernels share the cores: libgomp's wait policy, chosen before it loads.

libgomp's default lets idle threads spin. On a machine whose cores are busy with other
work, a spinning thread holds a core its partner needs, and every fork-join or barrier can
stall for a scheduler time slice: a 33 us MLP took 16 ms here under load. With `passive`
threads sleep at once: a fork-join costs tens of microseconds, with no stalls. Ziggurat
asks for `passive` unless the user chose a policy (OMP_WAIT_POLICY or GOMP_SPINCOUNT).
"""

import os

USER_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def configure_openmp() -> None:
    """Sets the wait policy libgomp reads when it loads (call before loading it)."""
    if not any(name in os.environ for name in USER_SETTINGS):
        os.environ["OMP_WAIT_POLICY"] = "passive"
