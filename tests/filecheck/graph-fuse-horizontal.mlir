// RUN: ziggurat-opt %s --split-input-file -p graph-fuse-horizontal | filecheck %s
// RUN: ziggurat-opt %s --split-input-file -p 'graph-fuse-horizontal{min-siblings=3}' | filecheck %s --check-prefix=THREE
// RUN: ziggurat-opt %s --split-input-file -p graph-fuse-horizontal,graph-fuse-ops | filecheck %s --check-prefix=FUSED

// Three projections of one input (as Q, K, V) become one matmul on the concatenated weights;
// the bias adds become one add of the concatenated biases, zeros where a sibling had none.
// CHECK-LABEL: func.func @projections
// CHECK-NEXT:    %[[W:.*]] = graph.weight "merged_weight_0" : tensor<3x6xf32>
// CHECK-NEXT:    %[[B:.*]] = graph.constant dense<[1.000000e+00, 2.000000e+00, 0.000000e+00, 0.000000e+00, 5.000000e+00, 6.000000e+00]> : tensor<6xf32>
// CHECK-NEXT:    %[[M:.*]] = graph.matmul %x, %[[W]] : (tensor<2x3xf32>, tensor<3x6xf32>) -> tensor<2x6xf32>
// CHECK-NEXT:    %[[A:.*]] = graph.add %[[M]], %[[B]]
// CHECK-NEXT:    %[[Q:.*]] = graph.slice %[[A]] {starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<2x6xf32> -> tensor<2x2xf32>
// CHECK-NEXT:    %[[K:.*]] = graph.slice %[[A]] {starts = array<i64: 0, 2>, steps = array<i64: 1, 1>} : tensor<2x6xf32> -> tensor<2x2xf32>
// CHECK-NEXT:    %[[V:.*]] = graph.slice %[[A]] {starts = array<i64: 0, 4>, steps = array<i64: 1, 1>} : tensor<2x6xf32> -> tensor<2x2xf32>
// CHECK-NEXT:    %[[QK:.*]] = graph.mul %[[Q]], %[[K]]
// CHECK-NEXT:    %[[R:.*]] = graph.mul %[[QK]], %[[V]]
// CHECK-NEXT:    func.return %[[R]]
// THREE-LABEL: func.func @projections
// The merged bias comes before the merged matmul, so the two fuse into one kernel.
// FUSED-LABEL: func.func @projections
// FUSED:         graph.fused %x, %{{.*}} {kind = "matmul_add"}
// THREE:         graph.matmul %x, %{{.*}} : (tensor<2x3xf32>, tensor<3x6xf32>)
func.func @projections(%x: tensor<2x3xf32>) -> tensor<2x2xf32> {
  %wq = graph.constant dense<[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %bq = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %q = graph.matmul %x, %wq : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %qb = graph.add %q, %bq : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %wk = graph.constant dense<[[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %k = graph.matmul %x, %wk : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %wv = graph.constant dense<[[3.0, 0.0], [0.0, 3.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %bv = graph.constant dense<[[5.0, 6.0]]> : tensor<1x2xf32>
  %v = graph.matmul %x, %wv : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %vb = graph.add %bv, %v : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %qk = graph.mul %qb, %k : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = graph.mul %qk, %vb : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  func.return %r : tensor<2x2xf32>
}

// -----

// Two 1x1 convolutions on one input merge, weights and biases concatenated along the output
// channels; the 3x3 one has another kernel size and stays; the slices cut along dim 1.
// CHECK-LABEL: func.func @branches
// CHECK-NEXT:    %[[W:.*]] = graph.constant dense<[{{\[\[\[}}1.000000e+00]], {{\[\[}}2.000000e+00]]], {{\[\[\[}}3.000000e+00]], {{\[\[}}4.000000e+00]]], {{\[\[\[}}5.000000e+00]], {{\[\[}}6.000000e+00]]]]> : tensor<3x2x1x1xf32>
// CHECK-NEXT:    %[[B:.*]] = graph.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
// CHECK-NEXT:    %[[C:.*]] = graph.conv %x, %[[W]], %[[B]] {{.*}} : (tensor<1x2x4x4xf32>, tensor<3x2x1x1xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
// CHECK-NEXT:    %[[P:.*]] = graph.slice %[[C]] {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x3x4x4xf32> -> tensor<1x1x4x4xf32>
// CHECK-NEXT:    %[[Q:.*]] = graph.slice %[[C]] {starts = array<i64: 0, 1, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x3x4x4xf32> -> tensor<1x2x4x4xf32>
// CHECK-NEXT:    %{{.*}} = graph.constant
// CHECK-NEXT:    %{{.*}} = graph.constant
// CHECK-NEXT:    %[[T:.*]] = graph.conv %x, {{.*}} -> tensor<1x1x4x4xf32>
// CHECK-NEXT:    %[[R:.*]] = graph.concat %[[P]], %[[Q]], %[[T]] {axis = 1 : i64}
// CHECK-NEXT:    func.return %[[R]]
// THREE-LABEL: func.func @branches
// THREE-COUNT-3: graph.conv %x
func.func @branches(%x: tensor<1x2x4x4xf32>) -> tensor<1x4x4x4xf32> {
  %w1 = graph.constant dense<[[[[1.0]], [[2.0]]]]> : tensor<1x2x1x1xf32>
  %b1 = graph.constant dense<1.0> : tensor<1xf32>
  %a = graph.conv %x, %w1, %b1 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<1x2x1x1xf32>, tensor<1xf32>) -> tensor<1x1x4x4xf32>
  %w2 = graph.constant dense<[[[[3.0]], [[4.0]]], [[[5.0]], [[6.0]]]]> : tensor<2x2x1x1xf32>
  %b2 = graph.constant dense<[2.0, 3.0]> : tensor<2xf32>
  %b = graph.conv %x, %w2, %b2 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %w3 = graph.constant dense<0.5> : tensor<1x2x3x3xf32>
  %b3 = graph.constant dense<0.0> : tensor<1xf32>
  %c = graph.conv %x, %w3, %b3 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<1x2x3x3xf32>, tensor<1xf32>) -> tensor<1x1x4x4xf32>
  %r = graph.concat %a, %b, %c {axis = 1 : i64} : (tensor<1x1x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x4x4x4xf32>
  func.return %r : tensor<1x4x4x4xf32>
}

// -----

// A weight computed at run time cannot be concatenated ahead of time: nothing merges.
// CHECK-LABEL: func.func @runtime_weight
// CHECK-COUNT-2: graph.matmul
// CHECK-NOT:     graph.slice
func.func @runtime_weight(%x: tensor<2x3xf32>, %w: tensor<3x2xf32>) -> tensor<2x2xf32> {
  %c = graph.constant dense<1.0> : tensor<3x2xf32>
  %a = graph.matmul %x, %w : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %b = graph.matmul %x, %c : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %r = graph.add %a, %b : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  func.return %r : tensor<2x2xf32>
}
