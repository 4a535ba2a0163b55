// RUN: ziggurat-opt %s -p graph-canonicalize,graph-eliminate-dead | filecheck %s

// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %[[R:.*]] = graph.relu %x : tensor<4xf32>
// CHECK-NEXT:    %[[S:.*]] = graph.reshape %[[R]] : tensor<4xf32> -> tensor<2x2xf32>
// CHECK-NEXT:    func.return %[[S]] : tensor<2x2xf32>
func.func @main(%x: tensor<4xf32>) -> tensor<2x2xf32> {
  %one = graph.constant dense<1.0> : tensor<f32>
  %zero = graph.constant dense<0.0> : tensor<f32>
  %0 = graph.mul %x, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %1 = graph.add %zero, %0 : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %2 = graph.relu %1 : tensor<4xf32>
  %3 = graph.relu %2 : tensor<4xf32>
  %4 = graph.div %3, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %5 = graph.reshape %4 : tensor<4xf32> -> tensor<1x4xf32>
  %6 = graph.reshape %5 : tensor<1x4xf32> -> tensor<2x2xf32>
  func.return %6 : tensor<2x2xf32>
}

// CHECK-LABEL: func.func @broadcasting_identity_stays
// CHECK:         graph.add
func.func @broadcasting_identity_stays(%x: tensor<1xf32>) -> tensor<3xf32> {
  %zero = graph.constant dense<0.0> : tensor<3xf32>
  %0 = graph.add %x, %zero : (tensor<1xf32>, tensor<3xf32>) -> tensor<3xf32>
  func.return %0 : tensor<3xf32>
}
