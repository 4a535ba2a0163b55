// RUN: ziggurat-opt %s --split-input-file -p graph-eliminate-dead | filecheck %s

// Cancelling transposes, same-shape reshapes and unused ops and weights disappear.
// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %[[R:.*]] = graph.relu %x : tensor<2x3xf32>
// CHECK-NEXT:    func.return %[[R]] : tensor<2x3xf32>
func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %w = graph.weight "unused" : tensor<4xf32>
  %0 = graph.transpose %x {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  %1 = graph.transpose %0 {perm = array<i64: 1, 0>} : tensor<3x2xf32> -> tensor<2x3xf32>
  %2 = graph.reshape %1 : tensor<2x3xf32> -> tensor<2x3xf32>
  %dead = graph.sigmoid %2 : tensor<2x3xf32>
  %3 = graph.relu %2 : tensor<2x3xf32>
  func.return %3 : tensor<2x3xf32>
}

// -----

// Two transposes that do not cancel become one.
// CHECK-LABEL: func.func @compose
// CHECK-NEXT:    %[[T:.*]] = graph.transpose %x {perm = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
// CHECK-NEXT:    func.return %[[T]]
func.func @compose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = graph.transpose %x {perm = array<i64: 1, 2, 0>} : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %1 = graph.transpose %0 {perm = array<i64: 1, 2, 0>} : tensor<3x4x2xf32> -> tensor<4x2x3xf32>
  func.return %1 : tensor<4x2x3xf32>
}
