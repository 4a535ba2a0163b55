// RUN: ziggurat-opt %s -p 'sched-parallelize{min-work=16384}' | filecheck %s
// RUN: ziggurat-opt %s -p 'sched-parallelize{min-work=1000000}' | filecheck %s --check-prefix=BIG

// Batch 1: the row loop has one iteration, so the column loop runs in parallel; the
// reduction loop never does.
// CHECK-LABEL: func.func private @dense_0
// CHECK:         sched.for %{{.*}} = 0 to 1 step 1 {
// CHECK-NEXT:      sched.for %{{.*}} = 0 to 512 step 1 parallel {
// CHECK:             sched.for %{{.*}} = 0 to 784 step 1 {
// BIG-LABEL:   func.func private @dense_0
// BIG-NOT:       parallel
func.func private @dense_0(%x: memref<1x784xf32>, %w: memref<512x784xf32>, %y: memref<1x512xf32>) {
  %acc = sched.alloc : memref<f32>
  sched.for %i = 0 to 1 step 1 {
    sched.for %j = 0 to 512 step 1 {
      %zero = arith.constant 0.000000e+00 : f32
      sched.store %zero, %acc[] : memref<f32>
      sched.for %k = 0 to 784 step 1 {
        %a = sched.load %x[%i, %k] : memref<1x784xf32>
        %b = sched.load %w[%j, %k] : memref<512x784xf32>
        %p = arith.mulf %a, %b : f32
        %c = sched.load %acc[] : memref<f32>
        %s = arith.addf %c, %p : f32
        sched.store %s, %acc[] : memref<f32>
      } {sched.axis = "reduce"}
      %r = sched.load %acc[] : memref<f32>
      sched.store %r, %y[%i, %j] : memref<1x512xf32>
    }
  }
  func.return
}

// Small nests stay serial: a fork-join would cost more than the loop.
// CHECK-LABEL: func.func private @relu_0
// BIG-LABEL:   func.func private @relu_0
// CHECK-NOT:     parallel
func.func private @relu_0(%x: memref<1x512xf32>, %y: memref<1x512xf32>) {
  sched.for %i = 0 to 1 step 1 {
    sched.for %j = 0 to 512 step 1 {
      %v = sched.load %x[%i, %j] : memref<1x512xf32>
      sched.store %v, %y[%i, %j] : memref<1x512xf32>
    }
  }
  func.return
}

// A loop whose kind was chosen already is left alone.
// CHECK-LABEL: func.func private @chosen_0
// CHECK:         sched.for %{{.*}} = 0 to 256 step 1 unroll {
// CHECK-NEXT:      sched.for %{{.*}} = 0 to 256 step 1 {
func.func private @chosen_0(%x: memref<256x256xf32>, %y: memref<256x256xf32>) {
  sched.for %i = 0 to 256 step 1 unroll {
    sched.for %j = 0 to 256 step 1 {
      %v = sched.load %x[%i, %j] : memref<256x256xf32>
      sched.store %v, %y[%i, %j] : memref<256x256xf32>
    }
  }
  func.return
}

// A nest a schedule kept serial (the `serial` primitive) stays serial.
// CHECK-LABEL: func.func private @kept_serial_0
// CHECK-NOT:     parallel
// CHECK:         sched.serial
func.func private @kept_serial_0(%x: memref<256x256xf32>, %y: memref<256x256xf32>) {
  sched.for %i = 0 to 256 step 1 {
    sched.for %j = 0 to 256 step 1 {
      %v = sched.load %x[%i, %j] : memref<256x256xf32>
      sched.store %v, %y[%i, %j] : memref<256x256xf32>
    }
  } {sched.serial}
  func.return
}

// A nest in which a schedule put an inner loop on the cores gets no second parallel loop.
// CHECK-LABEL: func.func private @inner_parallel_0
// CHECK:         sched.for %{{.*}} = 0 to 256 step 1 {
// CHECK-NEXT:      sched.for %{{.*}} = 0 to 256 step 1 parallel {
func.func private @inner_parallel_0(%x: memref<256x256xf32>, %y: memref<256x256xf32>) {
  sched.for %i = 0 to 256 step 1 {
    sched.for %j = 0 to 256 step 1 parallel {
      %v = sched.load %x[%i, %j] : memref<256x256xf32>
      sched.store %v, %y[%i, %j] : memref<256x256xf32>
    }
  }
  func.return
}
