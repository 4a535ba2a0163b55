// RUN: ziggurat-opt %s --split-input-file --verify-expected-diagnostics

// expected-error@+1 {{vector width must be 32 to 512 bits, got 384}}
builtin.module attributes {target.cpu = #target.cpu<"x86_64-unknown-linux-gnu", "generic", "", 384, 1>} {
}

// -----

target.kernel @k(%x: memref<8xf32>) {
  target.return
}
target.entry @main {
  %0 = target.buffer 0 input "x" : memref<4xf32>
  // expected-error@+1 {{passes (memref<4xf32>) but the kernel takes (memref<8xf32>)}}
  target.launch @k(%0) : memref<4xf32>
  target.return
}

// -----

// expected-error@+1 {{buffer indices must be 0, 1, ..., n-1}}
target.entry @main {
  %0 = target.buffer 1 input "x" : memref<4xf32>
  target.return
}

// -----

target.entry @main {
  // expected-error@+1 {{kind must be one of input, output, param, intermediate, got 'scratch'}}
  %0 = target.buffer 0 scratch "x" : memref<4xf32>
  target.return
}

// -----

target.entry @main {
  %0 = target.buffer 0 input "x" : memref<4xf32>
  // expected-error@+1 {{callee @missing is not a target.kernel}}
  target.launch @missing(%0) : memref<4xf32>
  target.return
}
