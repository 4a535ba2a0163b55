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

// -----

func.func @pow_result_not_the_base_type(%a: tensor<3xf32>, %b: tensor<3xi64>) -> tensor<3xi64> {
  // expected-error@+1 {{result must have the base's element type f32, got i64}}
  %0 = graph.pow %a, %b : (tensor<3xf32>, tensor<3xi64>) -> tensor<3xi64>
  func.return %0 : tensor<3xi64>
}

// -----

func.func @max_pool_indices_storage_order(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xi64> {
  // expected-error@+1 {{storage_order must be 0 or 1}}
  %0 = graph.max_pool_indices %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, storage_order = 2 : i64} : tensor<1x1x4x4xf32> -> tensor<1x1x2x2xi64>
  func.return %0 : tensor<1x1x2x2xi64>
}

// -----

func.func @max_pool_indices_not_i64(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xf32> {
  // expected-error@+1 {{result must be a tensor of i64}}
  %0 = graph.max_pool_indices %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, storage_order = 0 : i64} : tensor<1x1x4x4xf32> -> tensor<1x1x2x2xf32>
  func.return %0 : tensor<1x1x2x2xf32>
}
