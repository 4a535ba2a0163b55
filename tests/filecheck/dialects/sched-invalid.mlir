// RUN: ziggurat-opt %s --split-input-file --verify-expected-diagnostics

func.func private @kind() {
  // expected-error@+1 {{kind must be one of serial, parallel, vectorize, unroll, got 'sideways'}}
  sched.for %i = 0 to 4 step 1 sideways {
  }
  func.return
}

// -----

func.func private @step() {
  // expected-error@+1 {{step must be positive, got 0}}
  sched.for %i = 0 to 4 step 0 {
  }
  func.return
}

// -----

func.func private @store(%x: memref<4xf32>, %v: f64) {
  sched.for %i = 0 to 4 step 1 {
    // expected-error@+1 {{of f64 into a buffer of f32}}
    "sched.store"(%v, %x, %i) : (f64, memref<4xf32>, index) -> ()
  }
  func.return
}

// -----

func.func private @load(%x: memref<4x4xf32>) {
  sched.for %i = 0 to 4 step 1 {
    // expected-error@+1 {{of a rank-2 buffer needs 2 indices, got 1}}
    %v = sched.load %x[%i] : memref<4x4xf32>
  }
  func.return
}
