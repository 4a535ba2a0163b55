"""Hypothesis strategies for hostile inputs: each draws a seed input (tests/fuzz/seeds.py) and
breaks it the ways files break in the wild or are broken on purpose (ONNX models in
tests/fuzz/model_edits.py).

Every strategy gives bytes or text plus a short description of what was done to it, so a
failing case can be read, saved and replayed.
"""

import ast
import io
import json
import re
import zipfile
from dataclasses import dataclass
from functools import cache

import numpy as np
from hypothesis import strategies as st

from .seeds import (
    seed_ir_texts,
    seed_package_bytes,
    seed_params_bytes,
    seed_tuning_lines,
)


@dataclass(frozen=True)
class Case:
    """A hostile input and how it was made from its seed."""

    data: bytes
    steps: tuple[str, ...]

    def __repr__(self) -> str:
        return f"Case({len(self.data)} bytes: {'; '.join(self.steps) or 'unchanged'})"


def byte_edits(draw: st.DrawFn, data: bytes, steps: list[str], max_edits: int = 4) -> bytes:
    """Flips, overwrites, deletes or inserts a few bytes, or truncates."""
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, max_edits))):
        if not buffer:
            break
        kind = draw(st.sampled_from(("flip", "set", "delete", "insert", "truncate")))
        at = draw(st.integers(0, len(buffer) - 1))
        if kind == "flip":
            bit = draw(st.integers(0, 7))
            buffer[at] ^= 1 << bit
            steps.append(f"flip bit {bit} of byte {at}")
        elif kind == "set":
            value = draw(st.sampled_from((0x00, 0xFF, 0x7F, 0x80, draw(st.integers(0, 255)))))
            buffer[at] = value
            steps.append(f"byte {at} = {value:#x}")
        elif kind == "delete":
            count = draw(st.integers(1, 16))
            del buffer[at : at + count]
            steps.append(f"delete {count} bytes at {at}")
        elif kind == "insert":
            chunk = draw(st.binary(min_size=1, max_size=8))
            buffer[at:at] = chunk
            steps.append(f"insert {chunk!r} at {at}")
        else:
            del buffer[at:]
            steps.append(f"truncate to {at} bytes")
    return bytes(buffer)


# IR text for ziggurat-opt

IR_TOKENS = (
    "%0", "%x", "%999", "{", "}", "(", ")", "<", ">", ":", ",", "=", "->", "tensor<", "x",
    "?x", "0x", "-1", "99999999999999999999", "1099511627776", "f32", "i64", "f64", "i1",
    '"', "graph.", "graph.relu", "graph.add", "graph.weight", "func.return", "dense<", "array<i64:",
    "#target.cpu<", "\n", "//", "\\", "\x00", "é", "builtin.module",
)  # fmt: skip


IR_NUMBERS = ("0", "1", "2", "3", "5", "64", "2147483648", "1099511627776", "99999999999999999999")
"""What a number in the IR (a dim, an axis, a stride, an offset) may be edited to: the
digits only, so a preceding `-` makes the negative ones."""


@st.composite
def ir_texts(draw: st.DrawFn) -> Case:
    """A valid graph module with characters, tokens or lines deleted, inserted or swapped."""
    text = draw(st.sampled_from(seed_ir_texts()))
    steps = [f"seed ir {seed_ir_texts().index(text)}"]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(
                ("number", "number", "char", "delete", "token", "replace", "line", "swap")
            )
        )
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        numbers = list(re.finditer(r"\d+", text))
        if kind == "number" and numbers:
            found = draw(st.sampled_from(numbers))
            new = draw(st.sampled_from(IR_NUMBERS))
            text = text[: found.start()] + new + text[found.end() :]
            steps.append(f"number {found.group()} at {found.start()} = {new}")
        elif kind == "char":
            char = draw(st.characters(codec="utf-8"))
            text = text[:at] + char + text[at + 1 :]
            steps.append(f"char {at} = {char!r}")
        elif kind == "delete":
            count = draw(st.integers(1, 12))
            text = text[:at] + text[at + count :]
            steps.append(f"delete {count} chars at {at}")
        elif kind == "token":
            token = draw(st.sampled_from(IR_TOKENS))
            text = text[:at] + token + text[at:]
            steps.append(f"insert {token!r} at {at}")
        elif kind == "replace":
            words = [w for w in text.split() if len(w) > 1]
            old, new = draw(st.sampled_from(words)), draw(st.sampled_from(IR_TOKENS))
            text = text.replace(old, new, 1)
            steps.append(f"replace {old!r} with {new!r}")
        else:
            lines = text.split("\n")
            first = draw(st.integers(0, len(lines) - 1))
            second = draw(st.integers(0, len(lines) - 1))
            if kind == "line":
                lines.insert(second, lines[first]) if draw(st.booleans()) else lines.pop(first)
                steps.append(f"repeat or drop line {first}")
            else:
                lines[first], lines[second] = lines[second], lines[first]
                steps.append(f"swap lines {first} and {second}")
            text = "\n".join(lines)
    return Case(text.encode("utf-8", "surrogatepass"), tuple(steps))


# params files (.npz)


def _npz_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members: dict[str, bytes], comment: bytes = b"") -> bytes:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.comment = comment
        for name, data in members.items():
            archive.writestr(name, data)
    return stream.getvalue()


NPY_HEADER_EDITS = {
    "shape": ((2**40,), (-1,), (2**40, 2**40), (), (3,), (0, 2**62)),
    "descr": ("|O", "<c16", ">f4", "|V8", "zz", "<U3"),
    "fortran_order": (True,),
}


def _npy_header_edit(draw: st.DrawFn, member: bytes, steps: list[str]) -> bytes:
    """An .npy member with one field of its header (shape, dtype or order) replaced."""
    end = member.index(b"\n") + 1
    start = member.index(b"{")
    header = ast.literal_eval(member[start:end].decode("latin1"))
    key = draw(st.sampled_from(sorted(NPY_HEADER_EDITS)))
    header[key] = draw(st.sampled_from(NPY_HEADER_EDITS[key]))
    steps.append(f"npy header {header}")
    text = repr(header).encode("latin1")
    text += b" " * ((64 - (12 + len(text) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x02\x00" + len(text).to_bytes(4, "little") + text + member[end:]


@st.composite
def params_files(draw: st.DrawFn) -> Case:
    """The CNN's params with members dropped, renamed or re-headed, names edited, or bytes
    damaged."""
    data = seed_params_bytes()
    steps: list[str] = []
    members = _npz_members(data)
    kind = draw(st.sampled_from(("bytes", "header", "names", "drop", "rename", "raw_member")))
    name = draw(st.sampled_from(sorted(members)))
    if kind == "bytes":
        return Case(byte_edits(draw, data, steps), tuple(steps))
    if kind == "header":
        members[name] = _npy_header_edit(draw, members[name], steps)
    elif kind == "names":
        names = draw(
            st.sampled_from(
                ('"a"', "[1, 2]", '["a"]', "{}", "null", '["' + "x" * 3 + '"] ' * 2, "[[]]")
            )
        )
        stream = io.BytesIO()
        np.lib.format.write_array(stream, np.frombuffer(names.encode(), np.uint8))
        members["__names__.npy"] = stream.getvalue()
        steps.append(f"names = {names}")
    elif kind == "drop":
        del members[name]
        steps.append(f"drop {name}")
    elif kind == "rename":
        new = draw(st.sampled_from(("../evil.npy", "p99.npy", "__names__.npy", "x", "/abs.npy")))
        members[new] = members.pop(name)
        steps.append(f"rename {name} to {new}")
    else:
        members[name] = draw(st.binary(max_size=64))
        steps.append(f"{name} = raw bytes")
    return Case(_zip(members), tuple(steps))


# .zgt packages


BOMB_BYTES = 64 << 20
"""What an inflating member unpacks to: over the fuzz tests' memory limit (FUZZ_MEMORY_LIMIT),
small enough to build in a moment."""


@cache
def zip_with_bomb(name: str) -> bytes:
    """The seed `.zgt` with member `name` replaced by a deflated one that inflates to
    BOMB_BYTES zero bytes (its checksum in the manifest left as it was)."""
    from ziggurat.runtime.package import COMMENT

    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.comment = COMMENT
        for member, data in _npz_members(seed_package_bytes()).items():
            if member != name:
                archive.writestr(member, data)
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as out:
            block = bytes(1 << 20)
            for _ in range(BOMB_BYTES >> 20):
                out.write(block)
    return stream.getvalue()


def resign(members: dict[str, bytes]) -> dict[str, bytes]:
    """The members with the manifest's checksums recomputed, as a forger would."""
    from ziggurat.runtime.package import MANIFEST, _manifest_checksum, _sha256

    manifest = json.loads(members[MANIFEST])
    if isinstance(manifest, dict) and isinstance(manifest.get("members"), dict):
        for name in manifest["members"]:
            if name in members:
                manifest["members"][name] = _sha256(members[name])
        manifest["checksum"] = _manifest_checksum(manifest)
    return {**members, MANIFEST: json.dumps(manifest).encode()}


PLAN_VALUES = (None, 0, -1, 2**40, 2**63, 1.5, "", "f32", "../x", [], {}, [0], [-1], [2**40])


def _edit_json(draw: st.DrawFn, value: object, path: str, steps: list[str]) -> object:
    """One edit somewhere inside a JSON value: a field removed, or set to a hostile value."""
    if isinstance(value, dict) and value and draw(st.integers(0, 3)) > 0:
        key = draw(st.sampled_from(sorted(value)))
        if draw(st.integers(0, 4)) == 0:
            steps.append(f"remove {path}.{key}")
            return {k: v for k, v in value.items() if k != key}
        return {**value, key: _edit_json(draw, value[key], f"{path}.{key}", steps)}
    if isinstance(value, list) and value and draw(st.integers(0, 3)) > 0:
        index = draw(st.integers(0, len(value) - 1))
        if draw(st.integers(0, 4)) == 0:
            steps.append(f"remove {path}[{index}]")
            return value[:index] + value[index + 1 :]
        edited = _edit_json(draw, value[index], f"{path}[{index}]", steps)
        return value[:index] + [edited] + value[index + 1 :]
    new = draw(st.sampled_from(PLAN_VALUES))
    steps.append(f"{path} = {json.dumps(new)}")
    return new


@dataclass(frozen=True, repr=False)
class PackageCase(Case):
    """A `.zgt`; `resigned` when its checksums were recomputed after the edit."""

    resigned: bool = False


@st.composite
def packages(draw: st.DrawFn) -> PackageCase:
    """The seed `.zgt` damaged: bytes, members dropped, swapped, renamed (`../`), added, or a
    member's JSON edited and the manifest re-signed so the edit reaches the parser."""
    from ziggurat.runtime.package import COMMENT, PARAMS, PLAN

    seed = seed_package_bytes()
    members = _npz_members(seed)
    names = sorted(members)
    steps: list[str] = []
    kind = draw(
        st.sampled_from(
            ("bytes", "drop", "swap", "rename", "add", "plan", "params", "manifest", "bomb")
        )
    )
    if kind == "bytes":
        return PackageCase(byte_edits(draw, seed, steps), tuple(steps))
    if kind == "bomb":
        name = draw(st.sampled_from(names))
        return PackageCase(zip_with_bomb(name), (f"{name} inflates to {BOMB_BYTES} bytes",))
    resigned = False
    if kind == "drop":
        name = draw(st.sampled_from(names))
        del members[name]
        steps.append(f"drop {name}")
    elif kind == "swap":
        first, second = draw(st.permutations(names))[:2]
        members[first], members[second] = members[second], members[first]
        steps.append(f"swap {first} and {second}")
    elif kind == "rename":
        name = draw(st.sampled_from(names))
        new = draw(st.sampled_from(("../evil", "../../tmp/evil.so", "/etc/evil", "a/../b")))
        members[new] = members.pop(name)
        steps.append(f"rename {name} to {new}")
    elif kind == "add":
        new = draw(st.sampled_from(("../evil", "manifest.json/../x", "model.so.bak", "dir/")))
        members[new] = b"evil"
        steps.append(f"add member {new!r}")
    elif kind == "plan":
        plan = _edit_json(draw, json.loads(members[PLAN]), "plan", steps)
        members[PLAN] = json.dumps(plan).encode()
        members, resigned = resign(members), True
    elif kind == "params":
        params = draw(params_files())
        members[PARAMS] = params.data
        steps.extend(params.steps)
        members, resigned = resign(members), True
    else:
        from ziggurat.runtime.package import MANIFEST

        manifest = _edit_json(draw, json.loads(members[MANIFEST]), "manifest", steps)
        members[MANIFEST] = json.dumps(manifest).encode()
        if draw(st.booleans()):
            members, resigned = resign(members), True
    return PackageCase(_zip(members, COMMENT), tuple(steps), resigned)


# tuning logs

CONFIG_VALUES = (0, -1, 3, 7, 2**40, -(2**63), 1.5, True, "", "ij", "auto", None, [4])
"""Knob values a tuned config may be edited to: out of range, of another type, absurd; the
record's cost is sometimes made the best, so the edited config is the one a build uses."""


@st.composite
def tuning_logs(draw: st.DrawFn) -> Case:
    """The seed log with fields edited or removed, lines cut, or raw text damage."""
    lines = list(seed_tuning_lines())
    steps: list[str] = []
    index = draw(st.integers(0, len(lines) - 1))
    kind = draw(st.sampled_from(("config", "config", "field", "field", "cut", "text", "bytes")))
    if kind == "config":
        record = json.loads(lines[index])
        knob = draw(st.sampled_from(sorted(record["config"])))
        value = draw(st.sampled_from(CONFIG_VALUES))
        record["config"][knob] = value
        if draw(st.booleans()):
            record["result"]["costs"] = [1e-9]
        lines[index] = json.dumps(record)
        steps.append(f"line {index + 1} config {knob} = {json.dumps(value)}")
    elif kind == "field":
        record = json.loads(lines[index])
        edited = _edit_json(draw, record, f"line {index + 1}", steps)
        lines[index] = json.dumps(edited)
    elif kind == "cut":
        at = draw(st.integers(0, len(lines[index])))
        lines[index] = lines[index][:at]
        steps.append(f"cut line {index + 1} at {at}")
    elif kind == "text":
        lines.insert(index, draw(st.text(max_size=40)))
        steps.append(f"insert line {lines[index]!r}")
    text = "".join(line + "\n" for line in lines)
    data = text.encode("utf-8", "surrogatepass")
    if kind == "bytes":
        data = byte_edits(draw, data, steps)
    if draw(st.integers(0, 5)) == 0:
        data = data.rstrip(b"\n")
        steps.append("no final newline")
    return Case(data, tuple(steps))
