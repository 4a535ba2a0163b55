// RUN: ziggurat-opt %s --split-input-file --verify-expected-diagnostics

func.func @integer_pack(%x: tensor<1x4xi32>) -> tensor<1x2xi32> {
  // expected-error@+1 {{packs f32 tensors of bf16 values only.}}
  %0 = graph.pack_bf16x2 %x {axis = 1 : i64} : (tensor<1x4xi32>) -> tensor<1x2xi32>
  func.return %0 : tensor<1x2xi32>
}

// -----

func.func @integer_bias(%x: tensor<1x1x4x4xi32>, %w: tensor<2x1x1x1xi32>, %b: tensor<2xi32>) -> tensor<1x2x4x4xf32> {
  // expected-error@+1 {{needs an f32 bias and one group.}}
  %0 = graph.conv_bf16 %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x4x4xi32>, tensor<2x1x1x1xi32>, tensor<2xi32>) -> tensor<1x2x4x4xf32>
  func.return %0 : tensor<1x2x4x4xf32>
}

// -----

func.func @integer_dot2(%a: i32, %b: i32) -> i32 {
  // expected-error@+1 {{on i32 gives f32.}}
  %0 = bf16.dot2 %a, %b : i32 -> i32
  func.return %0 : i32
}
