// RUN: ziggurat-opt %s --split-input-file -p graph-simplify-inference | filecheck %s

// A batch norm after a conv folds into the conv's weight and bias.
// CHECK-LABEL: func.func @main
// CHECK:         %[[B:.*]] = graph.constant dense<[0.000000e+00, 5.000000e-01]> : tensor<2xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.conv %x, %{{.*}}, %[[B]]
// CHECK-NEXT:    func.return %[[Y]]
func.func @main(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = graph.constant dense<[[[[2.0]]], [[[3.0]]]]> : tensor<2x1x1x1xf32>
  %b = graph.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %g = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %be = graph.constant dense<[0.0, 1.0]> : tensor<2xf32>
  %m = graph.constant dense<[0.5, 0.0]> : tensor<2xf32>
  %v = graph.constant dense<[1.0, 4.0]> : tensor<2xf32>
  %0 = graph.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %1 = graph.batch_norm %0, %g, %be, %m, %v {epsilon = 0.0 : f32} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  func.return %1 : tensor<1x2x4x4xf32>
}

// -----

// Without a conv before it, a batch norm becomes a per-channel scale and shift.
// CHECK-LABEL: func.func @alone
// CHECK:         graph.mul %x, %{{.*}} : (tensor<1x2x3xf32>, tensor<2x1xf32>)
// CHECK-NEXT:    graph.add
func.func @alone(%x: tensor<1x2x3xf32>) -> tensor<1x2x3xf32> {
  %c = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %0 = graph.batch_norm %x, %c, %c, %c, %c {epsilon = 1.0e-5 : f32} : (tensor<1x2x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3xf32>
  func.return %0 : tensor<1x2x3xf32>
}
