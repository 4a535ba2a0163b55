// RUN: ziggurat-opt %s --load-plugin %S/fold_double_relu.py -p fold-double-relu | filecheck %s

// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %[[R:.*]] = graph.relu %x : tensor<4xf32>
// CHECK-NEXT:    func.return %[[R]] : tensor<4xf32>
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = graph.relu %x : tensor<4xf32>
  %1 = graph.relu %0 : tensor<4xf32>
  %2 = graph.relu %1 : tensor<4xf32>
  func.return %2 : tensor<4xf32>
}
