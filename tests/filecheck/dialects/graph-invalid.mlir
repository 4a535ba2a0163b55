// RUN: ziggurat-opt %s --split-input-file --verify-expected-diagnostics

func.func @bad_matmul(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error@+1 {{matmul contraction sizes differ: 3 (lhs [2, 3]) vs 4 (rhs [4, 5])}}
  %0 = graph.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  func.return %0 : tensor<2x5xf32>
}

// -----

func.func @bad_shape(%a: tensor<2x3xf32>, %b: tensor<3x5xf32>) -> tensor<2x4xf32> {
  // expected-error@+1 {{result shape [2, 4] does not match the inferred shape [2, 5]}}
  %0 = graph.matmul %a, %b : (tensor<2x3xf32>, tensor<3x5xf32>) -> tensor<2x4xf32>
  func.return %0 : tensor<2x4xf32>
}

// -----

func.func @no_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error@+1 {{shapes [2, 3] and [4] do not broadcast}}
  %0 = graph.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  func.return %0 : tensor<2x3xf32>
}

// -----

func.func @bad_reshape(%a: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error@+1 {{cannot turn [2, 3] (6 elements) into [7] (7 elements)}}
  %0 = graph.reshape %a : tensor<2x3xf32> -> tensor<7xf32>
  func.return %0 : tensor<7xf32>
}

// -----

func.func @bad_axis(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error@+1 {{axis 2 is out of range for rank 2}}
  %0 = graph.softmax %a {axis = 2 : i64} : tensor<2x3xf32>
  func.return %0 : tensor<2x3xf32>
}

// -----

func.func @unnamed() -> tensor<2xf32> {
  // expected-error@+1 {{needs a non-empty name}}
  %0 = graph.weight "" : tensor<2xf32>
  func.return %0 : tensor<2xf32>
}

// -----

func.func @bad_perm(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error@+1 {{perm [0, 0] is not a permutation of 2 dims}}
  %0 = graph.transpose %a {perm = array<i64: 0, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  func.return %0 : tensor<3x2xf32>
}

// -----

func.func @bad_gelu(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error@+1 {{approximate must be 'none' or 'tanh', got 'fast'}}
  %0 = graph.gelu %a {approximate = "fast"} : tensor<2xf32>
  func.return %0 : tensor<2xf32>
}

// -----

func.func @bad_layer_norm(%x: tensor<2x8xf32>, %g: tensor<3xf32>) -> tensor<2x8xf32> {
  // expected-error@+1 {{scale: shapes [8] and [3] do not broadcast}}
  %0 = graph.layer_norm %x, %g, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x8xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x8xf32>
  func.return %0 : tensor<2x8xf32>
}
