// RUN: ziggurat-opt %s --split-input-file --verify-expected-diagnostics

func.func @bad_layout(%x: tensor<1x32x8x8xf32>) -> tensor<1x2x8x8x16xf32> {
  // expected-error@+1 {{'NCHW16' is not a layout (like NCHW or NCHW16c)}}
  %0 = graph.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW16"} : tensor<1x32x8x8xf32> -> tensor<1x2x8x8x16xf32>
  func.return %0 : tensor<1x2x8x8x16xf32>
}

// -----

func.func @uneven_block(%x: tensor<1x24x8x8xf32>) -> tensor<1x2x8x8x16xf32> {
  // expected-error@+1 {{axis C of extent 24 does not split into blocks of 16}}
  %0 = graph.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW16c"} : tensor<1x24x8x8xf32> -> tensor<1x2x8x8x16xf32>
  func.return %0 : tensor<1x2x8x8x16xf32>
}

// -----

func.func @other_axes(%x: tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32> {
  // expected-error@+1 {{layouts NCHW and NCDW do not have the same axes}}
  %0 = graph.layout_transform %x {src_layout = "NCHW", dst_layout = "NCDW"} : tensor<1x32x8x8xf32> -> tensor<1x32x8x8xf32>
  func.return %0 : tensor<1x32x8x8xf32>
}

// -----

func.func @bad_transform_shape(%x: tensor<1x32x8x8xf32>) -> tensor<1x4x8x8x8xf32> {
  // expected-error@+1 {{result shape [1, 4, 8, 8, 8] does not match the inferred shape [1, 2, 8, 8, 16]}}
  %0 = graph.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW16c"} : tensor<1x32x8x8xf32> -> tensor<1x4x8x8x8xf32>
  func.return %0 : tensor<1x4x8x8x8xf32>
}

// -----

func.func @conv_rank(%x: tensor<1x32x8x8xf32>, %w: tensor<2x2x3x3x16x16xf32>, %b: tensor<32xf32>) -> tensor<1x2x8x8x16xf32> {
  // expected-error@+1 {{needs a rank-5 input and a rank-6 weight, got [1, 32, 8, 8] and [2, 2, 3, 3, 16, 16]}}
  %0 = graph.conv_nchwc %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x32x8x8xf32>, tensor<2x2x3x3x16x16xf32>, tensor<32xf32>) -> tensor<1x2x8x8x16xf32>
  func.return %0 : tensor<1x2x8x8x16xf32>
}

// -----

func.func @conv_channels(%x: tensor<1x2x8x8x16xf32>, %w: tensor<2x1x3x3x16x16xf32>, %b: tensor<32xf32>) -> tensor<1x2x8x8x16xf32> {
  // expected-error@+1 {{weight [32, 16, 3, 3] expects 16 input channels, got 32}}
  %0 = graph.conv_nchwc %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8x16xf32>, tensor<2x1x3x3x16x16xf32>, tensor<32xf32>) -> tensor<1x2x8x8x16xf32>
  func.return %0 : tensor<1x2x8x8x16xf32>
}

// -----

func.func @conv_bias(%x: tensor<1x2x8x8x16xf32>, %w: tensor<2x2x3x3x16x16xf32>, %b: tensor<2x16xf32>) -> tensor<1x2x8x8x16xf32> {
  // expected-error@+1 {{bias must have shape [32], got [2, 16]}}
  %0 = graph.conv_nchwc %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8x16xf32>, tensor<2x2x3x3x16x16xf32>, tensor<2x16xf32>) -> tensor<1x2x8x8x16xf32>
  func.return %0 : tensor<1x2x8x8x16xf32>
}

// -----

func.func @conv_result(%x: tensor<1x2x8x8x16xf32>, %w: tensor<2x2x3x3x16x16xf32>, %b: tensor<32xf32>) -> tensor<1x2x8x8x16xf32> {
  // expected-error@+1 {{result shape [1, 2, 8, 8, 16] does not match the inferred shape [1, 2, 6, 6, 16]}}
  %0 = graph.conv_nchwc %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8x16xf32>, tensor<2x2x3x3x16x16xf32>, tensor<32xf32>) -> tensor<1x2x8x8x16xf32>
  func.return %0 : tensor<1x2x8x8x16xf32>
}

// -----

func.func @pool_rank(%x: tensor<1x32x8x8xf32>) -> tensor<1x32x4x4xf32> {
  // expected-error@+1 {{needs a rank-5 input and a 2-D kernel}}
  %0 = graph.pool_nchwc %x {kind = "max", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 0 : i64} : tensor<1x32x8x8xf32> -> tensor<1x32x4x4xf32>
  func.return %0 : tensor<1x32x4x4xf32>
}

// -----

func.func @pool_kind(%x: tensor<1x2x8x8x16xf32>) -> tensor<1x2x4x4x16xf32> {
  // expected-error@+1 {{kind must be max or avg, got 'min'}}
  %0 = graph.pool_nchwc %x {kind = "min", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 0 : i64} : tensor<1x2x8x8x16xf32> -> tensor<1x2x4x4x16xf32>
  func.return %0 : tensor<1x2x4x4x16xf32>
}
