// RUN: ziggurat-opt %s | filecheck %s
// RUN: ZIGGURAT_ROUNDTRIP

// CHECK-LABEL: func.func private @dense_0
// CHECK-SAME:    (%[[X:.*]]: tensor<1x784xf32>, %[[W:.*]]: tensor<512x784xf32>, %[[BIAS:.*]]: tensor<512xf32>) -> tensor<1x512xf32>
// CHECK-NEXT:    %[[Y:.*]] = te.compute (%[[I:.*]], %[[J:.*]]) : tensor<1x512xf32> {
// CHECK-NEXT:      %[[B:.*]] = te.read %[[BIAS]][%[[J]]] : tensor<512xf32>
// CHECK-NEXT:      %[[S:.*]] = te.reduce sum (%[[K:.*]]) in [784] init %[[B]] : f32 {
// CHECK-NEXT:        %[[A:.*]] = te.read %[[X]][%[[I]], %[[K]]] : tensor<1x784xf32>
// CHECK-NEXT:        %[[V:.*]] = te.read %[[W]][%[[J]], %[[K]]] : tensor<512x784xf32>
// CHECK-NEXT:        %[[P:.*]] = arith.mulf %[[A]], %[[V]] : f32
// CHECK-NEXT:        te.yield %[[P]] : f32
// CHECK-NEXT:      }
// CHECK-NEXT:      te.yield %[[S]] : f32
// CHECK-NEXT:    } {tag = "dense"}
// CHECK-NEXT:    func.return %[[Y]] : tensor<1x512xf32>
func.func private @dense_0(%x: tensor<1x784xf32>, %w: tensor<512x784xf32>, %bias: tensor<512xf32>) -> tensor<1x512xf32> {
  %y = te.compute (%i, %j) : tensor<1x512xf32> {
    %b = te.read %bias[%j] : tensor<512xf32>
    %s = te.reduce sum (%k) in [784] init %b : f32 {
      %a = te.read %x[%i, %k] : tensor<1x784xf32>
      %v = te.read %w[%j, %k] : tensor<512x784xf32>
      %p = arith.mulf %a, %v : f32
      te.yield %p : f32
    }
    te.yield %s : f32
  } {tag = "dense"}
  func.return %y : tensor<1x512xf32>
}

// A rank-0 compute has no index arguments.
// CHECK-LABEL: func.func private @total_0
// CHECK:         te.compute () : tensor<f32> {
// CHECK:           te.reduce max (%{{.*}}, %{{.*}}) in [2, 3] init %{{.*}} : f32 {
func.func private @total_0(%x: tensor<2x3xf32>) -> tensor<f32> {
  %y = te.compute () : tensor<f32> {
    %init = arith.constant 0xFF800000 : f32
    %m = te.reduce max (%i, %j) in [2, 3] init %init : f32 {
      %v = te.read %x[%i, %j] : tensor<2x3xf32>
      te.yield %v : f32
    }
    te.yield %m : f32
  }
  func.return %y : tensor<f32>
}
