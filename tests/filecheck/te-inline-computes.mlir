// RUN: ziggurat-opt %s -p te-inline-computes | filecheck %s

// The elementwise consumer absorbs the matmul (read once, at its own indices): one compute.
// CHECK-LABEL: func.func private @dense_relu_0
// CHECK:         %[[Y:.*]] = te.compute (%[[I:.*]], %[[J:.*]]) : tensor<2x4xf32> {
// CHECK-NEXT:      %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:      %[[S:.*]] = te.reduce sum
// CHECK:           %[[R:.*]] = arith.maximumf %[[S]], %{{.*}} : f32
// CHECK-NEXT:      te.yield %[[R]] : f32
// CHECK-NOT:     te.compute
// CHECK:         func.return %[[Y]]
func.func private @dense_relu_0(%x: tensor<2x8xf32>, %w: tensor<8x4xf32>) -> tensor<2x4xf32> {
  %m = te.compute (%i, %j) : tensor<2x4xf32> {
    %zero = arith.constant 0.000000e+00 : f32
    %s = te.reduce sum (%k) in [8] init %zero : f32 {
      %a = te.read %x[%i, %k] : tensor<2x8xf32>
      %b = te.read %w[%k, %j] : tensor<8x4xf32>
      %p = arith.mulf %a, %b : f32
      te.yield %p : f32
    }
    te.yield %s : f32
  }
  %y = te.compute (%i, %j) : tensor<2x4xf32> {
    %v = te.read %m[%i, %j] : tensor<2x4xf32>
    %z = arith.constant 0.000000e+00 : f32
    %r = arith.maximumf %v, %z : f32
    te.yield %r : f32
  }
  func.return %y : tensor<2x4xf32>
}

// A fold read at other indices is not inlined (it would be recomputed).
// CHECK-LABEL: func.func private @row_max_0
// CHECK-COUNT-2: te.compute
func.func private @row_max_0(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %m = te.compute (%i) : tensor<2xf32> {
    %init = arith.constant 0xFF800000 : f32
    %s = te.reduce max (%k) in [8] init %init : f32 {
      %a = te.read %x[%i, %k] : tensor<2x8xf32>
      te.yield %a : f32
    }
    te.yield %s : f32
  }
  %y = te.compute (%i, %j) : tensor<2x8xf32> {
    %a = te.read %x[%i, %j] : tensor<2x8xf32>
    %b = te.read %m[%i] : tensor<2xf32>
    %d = arith.subf %a, %b : f32
    te.yield %d : f32
  }
  func.return %y : tensor<2x8xf32>
}

// A fold read twice by its consumer, both at the consumer's own point (a constant 0 for the
// extent-1 batch index), is inlined once and its value shared: one compute, one te.reduce.
// CHECK-LABEL: func.func private @dense_gelu_like_0
// CHECK:         te.compute
// CHECK-COUNT-1: te.reduce
// CHECK-NOT:     te.reduce
// CHECK-NOT:     te.compute
// CHECK:         arith.mulf %[[V:.*]], %{{.*}} : f32
func.func private @dense_gelu_like_0(%x: tensor<1x2x8xf32>, %w: tensor<8x4xf32>) -> tensor<1x2x4xf32> {
  %m = te.compute (%b, %i, %j) : tensor<1x2x4xf32> {
    %zero = arith.constant 0.000000e+00 : f32
    %s = te.reduce sum (%k) in [8] init %zero : f32 {
      %a = te.read %x[%b, %i, %k] : tensor<1x2x8xf32>
      %c = te.read %w[%k, %j] : tensor<8x4xf32>
      %p = arith.mulf %a, %c : f32
      te.yield %p : f32
    }
    te.yield %s : f32
  }
  %y = te.compute (%b, %i, %j) : tensor<1x2x4xf32> {
    %z = arith.constant 0 : index
    %v = te.read %m[%z, %i, %j] : tensor<1x2x4xf32>
    %e = math.erf %v : f32
    %u = te.read %m[%z, %i, %j] : tensor<1x2x4xf32>
    %r = arith.mulf %u, %e : f32
    te.yield %r : f32
  }
  func.return %y : tensor<1x2x4xf32>
}
