"""Control flow in the target entry: how convert-sched-to-target moves the graph function's
`scf.if`/`scf.while` (with their scalar loads, stores and `flow.slice` rows) into
`target.entry`, and how convert-target-to-llvm lowers `scf.while` to branches (xDSL's
convert-scf-to-cf lowers `scf.if` and `scf.for`, not `scf.while`) and `flow.slice` to a GEP.
"""

from xdsl.dialects import arith, cf, func, llvm, memref, scf
from xdsl.dialects.builtin import IntAttr, MemRefType, ModuleOp
from xdsl.ir import Attribute, Operation, Region, SSAValue
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import BlockInsertPoint, InsertPoint, Rewriter

from ziggurat.dialects import flow, target

ENTRY_OPS = (arith.ConstantOp, memref.LoadOp, memref.StoreOp, scf.IfOp, scf.WhileOp)
"""Ops besides kernel calls that the graph function may hold at its top level."""


def clone_into_entry(op: Operation, mapping: dict[SSAValue, SSAValue]) -> Operation:
    """`op` with its regions, buffers mapped to the entry's and kernel calls as launches."""
    clone = op.clone(value_mapper=mapping)
    for inner in list(clone.walk()):
        if isinstance(inner, func.CallOp):
            Rewriter.replace_op(
                inner, target.LaunchOp(inner.callee.string_value(), list(inner.arguments))
            )
    return clone


def lower_slices(region: Region) -> None:
    """Each flow.slice as a GEP over rows of the buffer's trailing dimensions."""
    for op in list(region.walk()):
        if isinstance(op, flow.SliceOp):
            row = op.result.type
            assert isinstance(row, MemRefType)
            count = 1
            for extent in row.get_shape():
                count *= extent
            pointee: Attribute = llvm.LLVMArrayType(IntAttr(count), row.element_type)
            gep = llvm.GEPOp(op.buffer, [llvm.GEP_USE_SSA_VAL], pointee, [op.index], inbounds=True)
            Rewriter.replace_op(op, gep)


class WhileLowering(RewritePattern):
    """scf.while as blocks: the before region is the loop header, ending in a conditional
    branch into the after region (the body) or out of the loop with the condition's values."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: scf.WhileOp, rewriter: PatternRewriter) -> None:
        init_block = op.parent_block()
        if init_block is None:
            return
        end_block = init_block.split_before(op)
        results = [end_block.insert_arg(r.type, n) for n, r in enumerate(op.results)]
        header = op.before_region.block
        body = op.after_region.block
        condition = header.last_op
        assert isinstance(condition, scf.ConditionOp)
        terminator = body.last_op
        assert isinstance(terminator, scf.YieldOp)
        rewriter.inline_region(op.before_region, BlockInsertPoint.before(end_block))
        rewriter.inline_region(op.after_region, BlockInsertPoint.before(end_block))
        rewriter.replace(
            condition,
            cf.ConditionalBranchOp(
                condition.condition, body, condition.args, end_block, condition.args
            ),
        )
        rewriter.replace(terminator, cf.BranchOp(header, *terminator.operands))
        rewriter.insert(cf.BranchOp(header, *op.arguments), InsertPoint.at_end(init_block))
        rewriter.replace(op, [], results)


def lower_while_loops(module: ModuleOp) -> None:
    PatternRewriteWalker(WhileLowering()).rewrite_module(module)
