"""The guide's schedule written with the primitives: a dense kernel's register tile."""

from ziggurat.schedule.schedule import Schedule


def tile_dense(s: Schedule) -> None:
    """8 x 32 accumulators in registers, the reduction outside them, rows unrolled and
    columns in vectors of 16: the GEMM micro-kernel the default templates build."""
    io, ii = s.split("i0", 8)
    jo, ji = s.split("i1", 32)
    s.reorder(io, jo, ii, ji)
    init, main, store = s.cache_write(ii, ji)
    s.reorder("r0", ii, ji)
    s.unroll(ii)
    vectors, lanes = s.split(ji, 16)
    s.unroll(vectors)
    s.vectorize(lanes)
    s.parallel(io)
