// RUN: ziggurat-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func private @kind() {
  sched.for %i = 0 to 4 step 1 sideways {
  }
  func.return
}
// CHECK: sched.for kind must be one of serial, parallel, vectorize, unroll, got 'sideways'.

// -----

func.func private @step() {
  sched.for %i = 0 to 4 step 0 {
  }
  func.return
}
// CHECK: sched.for step must be positive, got 0.

// -----

func.func private @store(%x: memref<4xf32>, %v: f64) {
  sched.for %i = 0 to 4 step 1 {
    "sched.store"(%v, %x, %i) : (f64, memref<4xf32>, index) -> ()
  }
  func.return
}
// CHECK: sched.store of f64 into a buffer of f32.

// -----

func.func private @load(%x: memref<4x4xf32>) {
  sched.for %i = 0 to 4 step 1 {
    %v = sched.load %x[%i] : memref<4x4xf32>
  }
  func.return
}
// CHECK: sched.load of a rank-2 buffer needs 2 indices, got 1.
