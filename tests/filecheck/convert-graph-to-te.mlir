// RUN: ziggurat-opt %s --split-input-file -p convert-graph-to-te | filecheck %s

// A dense layer: matmul with a transposed weight, broadcast bias add, relu.
// CHECK-LABEL: func.func private @matmul_0
// CHECK-SAME:    (%[[X:.*]]: tensor<2x8xf32>, %[[W:.*]]: tensor<4x8xf32>) -> tensor<2x4xf32>
// CHECK:         %[[MM:.*]] = te.compute (%[[I:.*]], %[[J:.*]]) : tensor<2x4xf32> {
// CHECK:           %[[SUM:.*]] = te.reduce sum (%[[K:.*]]) in [8] init %{{.*}} : f32 {
// CHECK-NEXT:        %[[A:.*]] = te.read %[[X]][%[[I]], %[[K]]] : tensor<2x8xf32>
// CHECK-NEXT:        %[[B:.*]] = te.read %[[W]][%[[J]], %[[K]]] : tensor<4x8xf32>
// CHECK-NEXT:        %[[P:.*]] = arith.mulf %[[A]], %[[B]] : f32
// CHECK-NEXT:        te.yield %[[P]] : f32
// CHECK:           te.yield %[[SUM]] : f32
// CHECK-NEXT:    } {tag = "matmul"}
// CHECK-NEXT:    func.return %[[MM]] : tensor<2x4xf32>

// The bias broadcasts along the rows: only the column index reads it.
// CHECK-LABEL: func.func private @add_0
// CHECK:         te.compute (%[[I2:.*]], %[[J2:.*]]) : tensor<2x4xf32> {
// CHECK-NEXT:      %[[L:.*]] = te.read %{{.*}}[%[[I2]], %[[J2]]] : tensor<2x4xf32>
// CHECK-NEXT:      %[[R:.*]] = te.read %{{.*}}[%[[J2]]] : tensor<4xf32>
// CHECK-NEXT:      %[[S:.*]] = arith.addf %[[L]], %[[R]] : f32

// A splat constant operand is read as a scalar, not passed as a buffer.
// CHECK-LABEL: func.func private @mul_0
// CHECK-SAME:    (%{{.*}}: tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK:         arith.constant 2.000000e+00 : f32

// CHECK-LABEL: func.func private @relu_0
// CHECK:         arith.maximumf

// Softmax is four computes in one kernel: max, exp, sum, divide.
// CHECK-LABEL: func.func private @softmax_0
// CHECK:         te.reduce max
// CHECK:         math.exp
// CHECK:         te.reduce sum
// CHECK:         arith.divf
// CHECK:         } {tag = "softmax"}

// The graph function calls the kernels; the second relu reuses @relu_0.
// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %[[WT:.*]] = graph.weight "fc.weight" : tensor<4x8xf32>
// CHECK-NEXT:    %[[BT:.*]] = graph.weight "fc.bias" : tensor<4xf32>
// CHECK-NEXT:    %[[Y0:.*]] = func.call @matmul_0(%x, %[[WT]])
// CHECK-NEXT:    %[[Y1:.*]] = func.call @add_0(%[[Y0]], %[[BT]])
// CHECK-NEXT:    %[[Y2:.*]] = func.call @mul_0(%[[Y1]])
// CHECK-NEXT:    %[[Y3:.*]] = func.call @relu_0(%[[Y2]])
// CHECK-NEXT:    %[[Y4:.*]] = func.call @relu_0(%[[Y1]])
// CHECK-NEXT:    %[[Y5:.*]] = func.call @softmax_0(%[[Y3]])
// CHECK-NEXT:    func.return %[[Y5]], %[[Y4]]
func.func @main(%x: tensor<2x8xf32> {graph.name = "input"}) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %w = graph.weight "fc.weight" : tensor<4x8xf32>
  %b = graph.weight "fc.bias" : tensor<4xf32>
  %c = graph.constant dense<2.0> : tensor<f32>
  %0 = graph.matmul %x, %w {transpose_b} : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  %a = graph.add %0, %b : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %m = graph.mul %a, %c : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %r = graph.relu %m : tensor<2x4xf32>
  %r2 = graph.relu %a : tensor<2x4xf32>
  %1 = graph.softmax %r {axis = 1 : i64} : tensor<2x4xf32>
  func.return %1, %r2 : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// An output that is an input gets a copy kernel, so it has a buffer of its own.
// CHECK-LABEL: func.func private @copy_0
// CHECK:         te.compute
// CHECK:         } {tag = "copy"}
// CHECK-LABEL: func.func @passthrough
// CHECK-NEXT:    %[[C:.*]] = func.call @copy_0(%x)
// CHECK-NEXT:    func.return %[[C]]
func.func @passthrough(%x: tensor<3xf32>) -> tensor<3xf32> {
  func.return %x : tensor<3xf32>
}
