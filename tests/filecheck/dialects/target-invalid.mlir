// RUN: ziggurat-opt %s --split-input-file --verify-diagnostics | filecheck %s

builtin.module attributes {target.cpu = #target.cpu<"x86_64-unknown-linux-gnu", "generic", "", 384, 1>} {
}
// CHECK: #target.cpu vector width must be 32 to 512 bits, got 384.

// -----

target.kernel @k(%x: memref<8xf32>) {
  target.return
}
target.entry @main {
  %0 = target.buffer 0 input "x" : memref<4xf32>
  target.launch @k(%0) : memref<4xf32>
  target.return
}
// CHECK: target.launch of @k passes (memref<4xf32>) but the kernel takes (memref<8xf32>).

// -----

target.entry @main {
  %0 = target.buffer 1 input "x" : memref<4xf32>
  target.return
}
// CHECK: target.entry buffer indices must be 0, 1, ..., n-1.

// -----

target.entry @main {
  %0 = target.buffer 0 scratch "x" : memref<4xf32>
  target.return
}
// CHECK: target.buffer kind must be one of input, output, param, intermediate, got 'scratch'.

// -----

target.entry @main {
  %0 = target.buffer 0 input "x" : memref<4xf32>
  target.launch @missing(%0) : memref<4xf32>
  target.return
}
// CHECK: target.launch callee @missing is not a target.kernel.
