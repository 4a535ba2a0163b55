// RUN: ziggurat-opt %s --split-input-file --verify-expected-diagnostics

func.func @bad_tile(%x: tensor<1x2x8x8x16xf32>) -> tensor<25x16x32xf32> {
  // expected-error@+1 {{tile must be 2 or 4, got 3.}}
  %0 = graph.winograd_input %x {tile = 3 : i64, pads = array<i64: 1, 1, 1, 1>} : tensor<1x2x8x8x16xf32> -> tensor<25x16x32xf32>
  func.return %0 : tensor<25x16x32xf32>
}

// -----

func.func @bad_input_shape(%x: tensor<1x2x8x8x16xf32>) -> tensor<16x9x32xf32> {
  // expected-error@+1 {{result shape [16, 9, 32] does not match the inferred shape [16, 16, 32]}}
  %0 = graph.winograd_input %x {tile = 2 : i64, pads = array<i64: 1, 1, 1, 1>} : tensor<1x2x8x8x16xf32> -> tensor<16x9x32xf32>
  func.return %0 : tensor<16x9x32xf32>
}

// -----

func.func @not_blocked(%x: tensor<1x32x8x8xf32>) -> tensor<16x16x32xf32> {
  // expected-error@+1 {{the input must be NCHW[x]c (rank 5), got [1, 32, 8, 8].}}
  %0 = graph.winograd_input %x {tile = 2 : i64, pads = array<i64: 1, 1, 1, 1>} : tensor<1x32x8x8xf32> -> tensor<16x16x32xf32>
  func.return %0 : tensor<16x16x32xf32>
}

// -----

func.func @tiles_do_not_match(%m: tensor<16x9x16xf32>, %b: tensor<16xf32>) -> tensor<1x1x8x8x16xf32> {
  // expected-error@+1 {{input shape [16, 9, 16] does not match [16, 16, 16], the tiles of the result [1, 1, 8, 8, 16].}}
  %0 = graph.winograd_output %m, %b {tile = 2 : i64} : (tensor<16x9x16xf32>, tensor<16xf32>) -> tensor<1x1x8x8x16xf32>
  func.return %0 : tensor<1x1x8x8x16xf32>
}

// -----

func.func @bad_bias(%m: tensor<16x16x16xf32>, %b: tensor<8xf32>) -> tensor<1x1x8x8x16xf32> {
  // expected-error@+1 {{bias shape [8] is not [16].}}
  %0 = graph.winograd_output %m, %b {tile = 2 : i64} : (tensor<16x16x16xf32>, tensor<8xf32>) -> tensor<1x1x8x8x16xf32>
  func.return %0 : tensor<1x1x8x8x16xf32>
}
