// RUN: ziggurat-opt %s -p graph-fuse-ops | filecheck %s
// RUN: ziggurat-opt %s -p 'graph-fuse-ops{max-depth=2}' | filecheck %s --check-prefix=SHALLOW

// conv + add + relu become one group; the weights come in as operands, the splat stays inside.
// CHECK-LABEL: func.func @main
// CHECK:         %[[F:.*]] = graph.fused %x, %w, %b, %y {kind = "conv_add_relu"}
// CHECK-NEXT:    ^bb0(%[[X:.*]]: tensor<1x2x4x4xf32>, %[[W:.*]]: tensor<3x2x1x1xf32>, %[[B:.*]]: tensor<3xf32>, %[[Y:.*]]: tensor<1x3x4x4xf32>):
// CHECK-NEXT:      %[[C:.*]] = graph.conv %[[X]], %[[W]], %[[B]]
// CHECK-NEXT:      %[[A:.*]] = graph.add %[[C]], %[[Y]]
// CHECK-NEXT:      %[[R:.*]] = graph.relu %[[A]]
// CHECK-NEXT:      graph.yield %[[R]] : tensor<1x3x4x4xf32>
// CHECK-NEXT:    }
// A value used twice ends its group; the softmax anchors the next one, whose mul reads the
// earlier group's result as an operand from outside.
// CHECK-NEXT:    %[[G:.*]] = graph.fused %[[F]] {kind = "softmax_mul_sigmoid"}
// CHECK-NEXT:    ^bb0(%[[IN:.*]]: tensor<1x3x4x4xf32>):
// CHECK-NEXT:      %[[S:.*]] = graph.softmax %[[IN]]
// CHECK-NEXT:      %{{.*}} = graph.mul %[[IN]], %[[S]]
// SHALLOW:       graph.fused {{.*}} {kind = "conv_add"}
func.func @main(%x: tensor<1x2x4x4xf32>, %y: tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32> {
  %w = graph.weight "w" : tensor<3x2x1x1xf32>
  %b = graph.weight "b" : tensor<3xf32>
  %0 = graph.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<3x2x1x1xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
  %1 = graph.add %0, %y : (tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %2 = graph.relu %1 : tensor<1x3x4x4xf32>
  %3 = graph.softmax %2 {axis = 1 : i64} : tensor<1x3x4x4xf32>
  %4 = graph.mul %2, %3 : (tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %5 = graph.sigmoid %4 : tensor<1x3x4x4xf32>
  func.return %5 : tensor<1x3x4x4xf32>
}
