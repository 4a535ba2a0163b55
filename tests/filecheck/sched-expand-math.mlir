// RUN: ziggurat-opt %s -p sched-expand-math | filecheck %s

// f32 exp, erf and tanh become arithmetic (no math op left); f64 keeps its libm call.
// CHECK-LABEL: func.func private @gelu_0
// CHECK-NOT:     math.exp
// CHECK-NOT:     math.erf
// CHECK-NOT:     math.tanh
// CHECK:         math.floor
// CHECK:         arith.bitcast %{{.*}} : f32 to i32
// CHECK:         arith.shli
// CHECK:         arith.bitcast %{{.*}} : i32 to f32
// CHECK:         math.copysign
// CHECK:         arith.select
// CHECK-LABEL: func.func private @double_0
// CHECK:         math.exp %{{.*}} : f64
func.func private @gelu_0(%x: memref<64xf32>, %y: memref<64xf32>) {
  sched.for %i = 0 to 64 step 1 {
    %v = sched.load %x[%i] : memref<64xf32>
    %e = math.exp %v : f32
    %r = math.erf %e : f32
    %t = math.tanh %r : f32
    sched.store %t, %y[%i] : memref<64xf32>
  }
  func.return
}
func.func private @double_0(%x: memref<4xf64>, %y: memref<4xf64>) {
  sched.for %i = 0 to 4 step 1 {
    %v = sched.load %x[%i] : memref<4xf64>
    %e = math.exp %v : f64
    sched.store %e, %y[%i] : memref<4xf64>
  }
  func.return
}
