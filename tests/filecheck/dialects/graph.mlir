// RUN: ziggurat-opt %s | filecheck %s
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
