// RUN: ziggurat-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @bad_matmul(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  %0 = graph.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  func.return %0 : tensor<2x5xf32>
}
// CHECK: graph.matmul: matmul contraction sizes differ: 3 (lhs [2, 3]) vs 4 (rhs [4, 5]).

// -----

func.func @bad_shape(%a: tensor<2x3xf32>, %b: tensor<3x5xf32>) -> tensor<2x4xf32> {
  %0 = graph.matmul %a, %b : (tensor<2x3xf32>, tensor<3x5xf32>) -> tensor<2x4xf32>
  func.return %0 : tensor<2x4xf32>
}
// CHECK: graph.matmul result shape [2, 4] does not match the inferred shape [2, 5].

// -----

func.func @no_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  %0 = graph.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  func.return %0 : tensor<2x3xf32>
}
// CHECK: graph.add: shapes [2, 3] and [4] do not broadcast.

// -----

func.func @bad_reshape(%a: tensor<2x3xf32>) -> tensor<7xf32> {
  %0 = graph.reshape %a : tensor<2x3xf32> -> tensor<7xf32>
  func.return %0 : tensor<7xf32>
}
// CHECK: graph.reshape cannot turn [2, 3] (6 elements) into [7] (7 elements).

// -----

func.func @bad_axis(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = graph.softmax %a {axis = 2 : i64} : tensor<2x3xf32>
  func.return %0 : tensor<2x3xf32>
}
// CHECK: graph.softmax axis 2 is out of range for rank 2.

// -----

func.func @unnamed() -> tensor<2xf32> {
  %0 = graph.weight "" : tensor<2xf32>
  func.return %0 : tensor<2xf32>
}
// CHECK: graph.weight needs a non-empty name.
