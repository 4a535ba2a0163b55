// RUN: ziggurat-opt %s --split-input-file -p graph-scan-to-loop | filecheck %s

// A reverse scan over axis 1: a loop of the scan length gathering slice T-1-i, then the
// stacked outputs reversed (prepend) and moved to axis 1.
// CHECK-LABEL: func.func @main
// CHECK:         %{{.*}}, %[[STACKED:.*]] = "graph.loop"(%s0) <{trip_count = 5 : i64, operandSegmentSizes = array<i32: 0, 0, 1>}> ({
// CHECK-NEXT:    ^{{.*}}(%[[I:.*]]: tensor<i64>, %{{.*}}: tensor<i1>, %[[S:.*]]: tensor<2xf32>):
// CHECK-NEXT:      %[[LAST:.*]] = graph.constant dense<4> : tensor<i64>
// CHECK-NEXT:      %[[J:.*]] = graph.sub %[[LAST]], %[[I]]
// CHECK-NEXT:      %[[SLICE:.*]] = graph.gather %x, %[[J]] {axis = 1 : i64} : (tensor<2x5xf32>, tensor<i64>) -> tensor<2xf32>
// CHECK-NEXT:      %[[NEXT:.*]] = graph.add %[[S]], %[[SLICE]]
// CHECK-NEXT:      %[[Y:.*]] = graph.mul %[[NEXT]], %[[SLICE]]
// CHECK-NEXT:      %[[TRUE:.*]] = graph.constant dense<true> : tensor<i1>
// CHECK-NEXT:      graph.yield %[[TRUE]], %[[NEXT]], %[[Y]]
// CHECK:         }) : (tensor<2xf32>) -> (tensor<2xf32>, tensor<5x2xf32>)
// CHECK-NEXT:    %[[ORDER:.*]] = graph.constant dense<[4, 3, 2, 1, 0]> : tensor<5xi64>
// CHECK-NEXT:    %[[REV:.*]] = graph.gather %[[STACKED]], %[[ORDER]] {axis = 0 : i64}
// CHECK-NEXT:    %{{.*}} = graph.transpose %[[REV]] {perm = array<i64: 1, 0>} : tensor<5x2xf32> -> tensor<2x5xf32>
// CHECK-NOT:     graph.scan
func.func @main(%s0: tensor<2xf32>, %x: tensor<2x5xf32>) -> (tensor<2xf32>, tensor<2x5xf32>) {
  %s, %ys = "graph.scan"(%s0, %x) <{scan_input_axes = [1 : i64], scan_input_directions = [1 : i64], scan_output_axes = [1 : i64], scan_output_directions = [1 : i64], num_scan_inputs = 1 : i64}> ({
  ^bb0(%0: tensor<2xf32>, %1: tensor<2xf32>):
    %s_out = graph.add %0, %1 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    %y = graph.mul %s_out, %1 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    graph.yield %s_out, %y : tensor<2xf32>, tensor<2xf32>
  }) : (tensor<2xf32>, tensor<2x5xf32>) -> (tensor<2xf32>, tensor<2x5xf32>)
  func.return %s, %ys : tensor<2xf32>, tensor<2x5xf32>
}

// -----

// A forward scan on axis 0 reads slice i and needs no reversal or transpose.
// CHECK-LABEL: func.func @forward
// CHECK:         graph.gather %x, %{{.*}} {axis = 0 : i64} : (tensor<3x4xf32>, tensor<i64>) -> tensor<4xf32>
// CHECK-NOT:     graph.sub
// CHECK:         }) : (tensor<4xf32>) -> (tensor<4xf32>, tensor<3x4xf32>)
// CHECK-NEXT:    func.return
func.func @forward(%s0: tensor<4xf32>, %x: tensor<3x4xf32>) -> (tensor<4xf32>, tensor<3x4xf32>) {
  %s, %ys = "graph.scan"(%s0, %x) <{scan_input_axes = [0 : i64], scan_input_directions = [0 : i64], scan_output_axes = [0 : i64], scan_output_directions = [0 : i64], num_scan_inputs = 1 : i64}> ({
  ^bb0(%0: tensor<4xf32>, %1: tensor<4xf32>):
    %n = graph.add %0, %1 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    graph.yield %n, %n : tensor<4xf32>, tensor<4xf32>
  }) : (tensor<4xf32>, tensor<3x4xf32>) -> (tensor<4xf32>, tensor<3x4xf32>)
  func.return %s, %ys : tensor<4xf32>, tensor<3x4xf32>
}
