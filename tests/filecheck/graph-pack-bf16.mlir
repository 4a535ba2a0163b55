// RUN: ziggurat-opt %s --split-input-file -p graph-pack-bf16 | filecheck %s
// RUN: ziggurat-opt %s --split-input-file -p 'graph-pack-bf16{min-channels=1}' | filecheck %s --check-prefix=SMALL

// A matmul of a bf16-rounded input and a bf16 constant weight (the bf16 scheme's form): the
// input packed two to an i32 along K at run time (K = 3: the last word padded with 0), the
// weight at build time along its K axis (column 0: 1.0 = 0x3F80 low, 3.0 = 0x4040 high ->
// 0x40403F80; column 1: 2.0 = 0x4000, -1.0 = 0xBF80 -> 0xBF804000; the padded row: 0.5 =
// 0x3F00, 4.0 = 0x4080).
// CHECK-LABEL: func.func @matmul
// CHECK:         %[[R:.*]] = graph.cast %{{.*}} : tensor<3x3xbf16> -> tensor<3x3xf32>
// CHECK-NEXT:    %[[P:.*]] = graph.pack_bf16x2 %[[R]] {axis = 1 : i64} : (tensor<3x3xf32>) -> tensor<3x2xi32>
// CHECK-NEXT:    %[[W:.*]] = graph.constant dense<{{\[\[}}1077952384, -1082114048], [16128, 16512]]> : tensor<2x2xi32>
// CHECK-NEXT:    %[[Y:.*]] = graph.matmul_bf16 %[[P]], %[[W]] : (tensor<3x2xi32>, tensor<2x2xi32>) -> tensor<3x2xf32>
// CHECK-NEXT:    func.return %[[Y]]
func.func @matmul(%x: tensor<3x3xf32>) -> tensor<3x2xf32> {
  %w = graph.constant dense<[[1.0, 2.0], [3.0, -1.0], [0.5, 4.0]]> : tensor<3x2xbf16>
  %0 = graph.cast %w : tensor<3x2xbf16> -> tensor<3x2xf32>
  %1 = graph.cast %x : tensor<3x3xf32> -> tensor<3x3xbf16>
  %2 = graph.cast %1 : tensor<3x3xbf16> -> tensor<3x3xf32>
  %3 = graph.matmul %2, %0 : (tensor<3x3xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  func.return %3 : tensor<3x2xf32>
}

// -----

// transpose_b: the weight [N, K] is packed as [K/2, N], like the one above.
// CHECK-LABEL: func.func @transposed
// CHECK:         graph.pack_bf16x2
// CHECK-NEXT:    graph.constant dense<{{\[\[}}1077952384, -1082114048]]> : tensor<1x2xi32>
// CHECK-NEXT:    graph.matmul_bf16 {{.*}} -> tensor<1x2xf32>
func.func @transposed(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = graph.constant dense<[[1.0, 3.0], [2.0, -1.0]]> : tensor<2x2xbf16>
  %0 = graph.cast %w : tensor<2x2xbf16> -> tensor<2x2xf32>
  %1 = graph.cast %x : tensor<1x2xf32> -> tensor<1x2xbf16>
  %2 = graph.cast %1 : tensor<1x2xbf16> -> tensor<1x2xf32>
  %3 = graph.matmul %2, %0 {transpose_b} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  func.return %3 : tensor<1x2xf32>
}

// -----

// A convolution with fewer input channels than `min-channels` (16) stays f32; with the
// option at 1, input and weight are packed along their channel axis, the f32 bias kept.
// CHECK-LABEL: func.func @conv
// CHECK-NOT:     graph.pack_bf16x2
// CHECK:         graph.conv %{{.*}} -> tensor<1x2x6x6xf32>
// SMALL-LABEL: func.func @conv
// SMALL:         %[[P:.*]] = graph.pack_bf16x2 %{{.*}} {axis = 1 : i64} : (tensor<1x2x4x4xf32>) -> tensor<1x1x4x4xi32>
// SMALL-NEXT:    %[[W:.*]] = graph.constant dense<{{\[\[\[\[}}1077952384]]], {{\[\[\[}}-1082114048]]]]> : tensor<2x1x1x1xi32>
// SMALL-NEXT:    %[[Y:.*]] = graph.conv_bf16 %[[P]], %[[W]], %b {{.*}}pads = array<i64: 1, 1, 1, 1>{{.*}} : (tensor<1x1x4x4xi32>, tensor<2x1x1x1xi32>, tensor<2xf32>) -> tensor<1x2x6x6xf32>
// SMALL-NEXT:    func.return %[[Y]]
func.func @conv(%x: tensor<1x2x4x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x6x6xf32> {
  %w = graph.constant dense<[[[[1.0]], [[3.0]]], [[[2.0]], [[-1.0]]]]> : tensor<2x2x1x1xbf16>
  %0 = graph.cast %w : tensor<2x2x1x1xbf16> -> tensor<2x2x1x1xf32>
  %1 = graph.cast %x : tensor<1x2x4x4xf32> -> tensor<1x2x4x4xbf16>
  %2 = graph.cast %1 : tensor<1x2x4x4xbf16> -> tensor<1x2x4x4xf32>
  %3 = graph.conv %2, %0, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x6x6xf32>
  func.return %3 : tensor<1x2x6x6xf32>
}

// -----

// An input not rounded to bf16, or a weight that is not a bf16 constant: unchanged.
// CHECK-LABEL: func.func @unrounded
// CHECK-NOT:     graph.pack_bf16x2
// CHECK:         graph.matmul %x, %{{.*}}
// CHECK:         graph.matmul %{{.*}}, %v
func.func @unrounded(%x: tensor<1x2xf32>, %v: tensor<2x2xf32>) -> (tensor<1x2xf32>, tensor<1x2xf32>) {
  %w = graph.constant dense<[[1.0, 3.0], [2.0, -1.0]]> : tensor<2x2xbf16>
  %0 = graph.cast %w : tensor<2x2xbf16> -> tensor<2x2xf32>
  %1 = graph.matmul %x, %0 : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %2 = graph.cast %x : tensor<1x2xf32> -> tensor<1x2xbf16>
  %3 = graph.cast %2 : tensor<1x2xbf16> -> tensor<1x2xf32>
  %4 = graph.matmul %3, %v : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  func.return %1, %4 : tensor<1x2xf32>, tensor<1x2xf32>
}

// -----

// A 3x3 stride-1 convolution with an output of at least `winograd-extent` (28) rows stays
// f32 (graph-winograd's kernels are faster there), even with enough channels.
// SMALL-LABEL: func.func @winograd
// SMALL-NOT:     graph.pack_bf16x2
// SMALL:         graph.conv
func.func @winograd(%x: tensor<1x1x28x28xf32>, %b: tensor<1xf32>) -> tensor<1x1x28x28xf32> {
  %w = graph.constant dense<1.0> : tensor<1x1x3x3xbf16>
  %0 = graph.cast %w : tensor<1x1x3x3xbf16> -> tensor<1x1x3x3xf32>
  %1 = graph.cast %x : tensor<1x1x28x28xf32> -> tensor<1x1x28x28xbf16>
  %2 = graph.cast %1 : tensor<1x1x28x28xbf16> -> tensor<1x1x28x28xf32>
  %3 = graph.conv %2, %0, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x28x28xf32>, tensor<1x1x3x3xf32>, tensor<1xf32>) -> tensor<1x1x28x28xf32>
  func.return %3 : tensor<1x1x28x28xf32>
}
