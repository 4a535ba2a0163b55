// RUN: ziggurat-opt %s -p graph-fold-constants | filecheck %s

// Ops on constants only are evaluated; small results stay inline.
// CHECK-LABEL: func.func @main
// CHECK-NOT:     graph.mul
// CHECK:         %[[C:.*]] = graph.constant dense<[3.000000e+00, 5.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.add %x, %[[C]]
// CHECK-NEXT:    func.return %[[Y]]
func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
  %a = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %b = graph.constant dense<2.0> : tensor<f32>
  %c = graph.constant dense<1.0> : tensor<f32>
  %0 = graph.mul %a, %b : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
  %1 = graph.add %0, %c : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
  %2 = graph.add %x, %1 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %2 : tensor<2xf32>
}
