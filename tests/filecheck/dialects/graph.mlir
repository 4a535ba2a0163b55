// RUN: ziggurat-opt %s --split-input-file | filecheck %s
// RUN: ZIGGURAT_ROUNDTRIP

// CHECK-LABEL: func.func @main
// CHECK-SAME:    (%[[X:.*]]: tensor<1x784xf32> {graph.name = "onnx::Flatten_0"}) -> (tensor<1x10xf32> {graph.name = "probs"})
// CHECK-NEXT:    %[[W:.*]] = graph.weight "save_infer_model/scale_0.tmp_1" : tensor<10x784xf32>
// CHECK-NEXT:    %[[B:.*]] = graph.weight "fc.bias" : tensor<10xf32>
// CHECK-NEXT:    %[[C:.*]] = graph.constant dense<5.000000e-01> : tensor<f32>
// CHECK-NEXT:    %[[M:.*]] = graph.matmul %[[X]], %[[W]] {transpose_b, alpha = 2.000000e+00 : f32} : (tensor<1x784xf32>, tensor<10x784xf32>) -> tensor<1x10xf32>
// CHECK-NEXT:    %[[A:.*]] = graph.add %[[M]], %[[B]] : (tensor<1x10xf32>, tensor<10xf32>) -> tensor<1x10xf32>
// CHECK-NEXT:    %[[S:.*]] = graph.mul %[[A]], %[[C]] : (tensor<1x10xf32>, tensor<f32>) -> tensor<1x10xf32>
// CHECK-NEXT:    %[[R:.*]] = graph.relu %[[S]] : tensor<1x10xf32>
// CHECK-NEXT:    %[[F:.*]] = graph.reshape %[[R]] : tensor<1x10xf32> -> tensor<2x5xf32>
// CHECK-NEXT:    %[[G:.*]] = graph.reshape %[[F]] : tensor<2x5xf32> -> tensor<1x10xf32>
// CHECK-NEXT:    %[[P:.*]] = graph.softmax %[[G]] {axis = 1 : i64} : tensor<1x10xf32>
// CHECK-NEXT:    func.return %[[P]] : tensor<1x10xf32>
func.func @main(%x: tensor<1x784xf32> {graph.name = "onnx::Flatten_0"}) -> (tensor<1x10xf32> {graph.name = "probs"}) {
  %w = graph.weight "save_infer_model/scale_0.tmp_1" : tensor<10x784xf32>
  %b = graph.weight "fc.bias" : tensor<10xf32>
  %c = graph.constant dense<0.5> : tensor<f32>
  %0 = graph.matmul %x, %w {transpose_b, alpha = 2.0 : f32} : (tensor<1x784xf32>, tensor<10x784xf32>) -> tensor<1x10xf32>
  %1 = graph.add %0, %b : (tensor<1x10xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  %2 = graph.mul %1, %c : (tensor<1x10xf32>, tensor<f32>) -> tensor<1x10xf32>
  %3 = graph.relu %2 : tensor<1x10xf32>
  %4 = graph.reshape %3 : tensor<1x10xf32> -> tensor<2x5xf32>
  %5 = graph.reshape %4 : tensor<2x5xf32> -> tensor<1x10xf32>
  %6 = graph.softmax %5 {axis = 1 : i64} : tensor<1x10xf32>
  func.return %6 : tensor<1x10xf32>
}

// -----

// CHECK-LABEL: func.func @cnn
// CHECK:         graph.conv %{{.*}}, %{{.*}}, %{{.*}} {strides = array<i64: 2, 2>, pads = array<i64: 3, 3, 3, 3>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x32x32xf32>, tensor<8x3x7x7xf32>, tensor<8xf32>) -> tensor<1x8x16x16xf32>
// CHECK:         graph.batch_norm
// CHECK:         graph.clip %{{.*}} {min = 0.000000e+00 : f32, max = 6.000000e+00 : f32}
// CHECK:         graph.pool %{{.*}} {kind = "max", kernel = array<i64: 3, 3>
// CHECK:         graph.lrn
// CHECK:         graph.concat %{{.*}}, %{{.*}} {axis = 1 : i64}
// CHECK:         graph.reduce %{{.*}} {kind = "mean", axes = array<i64: 2, 3>, keepdims = 1 : i64}
// CHECK:         graph.leaky_relu
// CHECK:         graph.hard_sigmoid
// CHECK:         graph.prelu
func.func @cnn(%x: tensor<1x3x32x32xf32>, %w: tensor<8x3x7x7xf32>, %b: tensor<8xf32>) -> tensor<1x16x1x1xf32> {
  %0 = graph.conv %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 3, 3, 3, 3>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x32x32xf32>, tensor<8x3x7x7xf32>, tensor<8xf32>) -> tensor<1x8x16x16xf32>
  %1 = graph.batch_norm %0, %b, %b, %b, %b {epsilon = 1.0e-05 : f32} : (tensor<1x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x16x16xf32>
  %2 = graph.clip %1 {min = 0.0 : f32, max = 6.0 : f32} : tensor<1x8x16x16xf32>
  %3 = graph.pool %2 {kind = "max", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 0 : i64} : tensor<1x8x16x16xf32> -> tensor<1x8x8x8xf32>
  %4 = graph.lrn %3 {size = 3 : i64, alpha = 1.0e-04 : f32, beta = 0.75 : f32, bias = 1.0 : f32} : tensor<1x8x8x8xf32>
  %5 = graph.concat %3, %4 {axis = 1 : i64} : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32>
  %6 = graph.reduce %5 {kind = "mean", axes = array<i64: 2, 3>, keepdims = 1 : i64} : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  %7 = graph.leaky_relu %6 {alpha = 0.1 : f32} : tensor<1x16x1x1xf32>
  %8 = graph.hard_sigmoid %7 {alpha = 0.2 : f32, beta = 0.5 : f32} : tensor<1x16x1x1xf32>
  %9 = graph.prelu %8, %7 : (tensor<1x16x1x1xf32>, tensor<1x16x1x1xf32>) -> tensor<1x16x1x1xf32>
  func.return %9 : tensor<1x16x1x1xf32>
}

// -----

// CHECK-LABEL: func.func @mixed_types
// CHECK:         graph.max_pool_indices %{{.*}} {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, storage_order = 1 : i64} : tensor<1x2x5x5xf32> -> tensor<1x2x2x2xi64>
// CHECK:         graph.pow %{{.*}}, %{{.*}} : (tensor<1x2x2x2xi64>, tensor<2x1x1xf32>) -> tensor<1x2x2x2xi64>
// CHECK:         graph.mod %{{.*}}, %{{.*}} {truncated} : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
func.func @mixed_types(%x: tensor<1x2x5x5xf32>, %e: tensor<2x1x1xf32>, %a: tensor<3xf64>) -> (tensor<1x2x2x2xi64>, tensor<3xf64>) {
  %0 = graph.max_pool_indices %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, storage_order = 1 : i64} : tensor<1x2x5x5xf32> -> tensor<1x2x2x2xi64>
  %1 = graph.pow %0, %e : (tensor<1x2x2x2xi64>, tensor<2x1x1xf32>) -> tensor<1x2x2x2xi64>
  %2 = graph.mod %a, %a {truncated} : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
  func.return %1, %2 : tensor<1x2x2x2xi64>, tensor<3xf64>
}
