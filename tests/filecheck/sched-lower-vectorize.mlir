// RUN: ziggurat-opt %s --split-input-file -p sched-lower-vectorize | filecheck %s
// RUN: ziggurat-opt %s --split-input-file -p sched-lower-vectorize --pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// A contiguous row: loads and stores become vector.load/vector.store at the loop's lower
// bound; a load at indices the same in every lane stays scalar and is broadcast; constants
// become splat vectors.
// CHECK-LABEL: func.func private @scale_relu_0
// CHECK:         sched.for %[[I:.*]] = 0 to 4 step 1 {
// CHECK-NEXT:      %[[LO:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[V:.*]] = vector.load %[[X:.*]][%[[I]], %[[LO]]] : memref<4x16xf32>, vector<16xf32>
// CHECK-NEXT:    %[[S:.*]] = sched.load %[[SCALE:.*]][%[[I]]] : memref<4xf32>
// CHECK-NEXT:    %[[SV:.*]] = vector.broadcast %[[S]] : f32 to vector<16xf32>
// CHECK-NEXT:    %[[M:.*]] = arith.mulf %[[V]], %[[SV]] : vector<16xf32>
// CHECK-NEXT:    %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[ZV:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK-NEXT:    %[[R:.*]] = arith.maximumf %[[M]], %[[ZV]] : vector<16xf32>
// CHECK-NEXT:    vector.store %[[R]], %[[Y:.*]][%[[I]], %[[LO]]] : memref<4x16xf32>, vector<16xf32>
// CHECK-NEXT:  }
func.func private @scale_relu_0(%x: memref<4x16xf32>, %scale: memref<4xf32>, %y: memref<4x16xf32>) {
  sched.for %i = 0 to 4 step 1 {
    sched.for %j = 0 to 16 step 1 vectorize {
      %v = sched.load %x[%i, %j] : memref<4x16xf32>
      %s = sched.load %scale[%i] : memref<4xf32>
      %m = arith.mulf %v, %s : f32
      %zero = arith.constant 0.000000e+00 : f32
      %r = arith.maximumf %m, %zero : f32
      sched.store %r, %y[%i, %j] : memref<4x16xf32>
    }
  }
  func.return
}

// -----

// Index arithmetic adding a uniform offset stays contiguous: its lane-0 value is computed
// from the lower bound. A uniform value stored along the row is broadcast.
// CHECK-LABEL: func.func private @shifted_0
// CHECK:         %[[LO:.*]] = arith.constant 8 : index
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT:    %[[AT:.*]] = arith.addi %[[LO]], %[[ONE]] : index
// CHECK-NEXT:    %[[V:.*]] = vector.load %{{.*}}[%[[AT]]] : memref<32xf32>, vector<8xf32>
// CHECK-NEXT:    vector.store %[[V]], %{{.*}}[%[[LO]]] : memref<32xf32>, vector<8xf32>
// CHECK-NEXT:    arith.constant 2.500000e+00 : f32
// CHECK-NEXT:    %[[C:.*]] = arith.constant dense<2.500000e+00> : vector<8xf32>
// CHECK-NEXT:    vector.store %[[C]], %{{.*}}[%[[LO]]] : memref<32xf32>, vector<8xf32>
func.func private @shifted_0(%x: memref<32xf32>, %y: memref<32xf32>, %z: memref<32xf32>) {
  sched.for %j = 8 to 16 step 1 vectorize {
    %one = arith.constant 1 : index
    %at = arith.addi %j, %one : index
    %v = sched.load %x[%at] : memref<32xf32>
    sched.store %v, %y[%j] : memref<32xf32>
    %c = arith.constant 2.500000e+00 : f32
    sched.store %c, %z[%j] : memref<32xf32>
  }
  func.return
}

// -----

// A register tile (after sched-lower-unroll): the accumulator row is read and written at
// the same indices, one element per lane, so the loop vectorizes.
// CHECK-LABEL: func.func private @accumulate_0
// CHECK:         %[[ACC:.*]] = vector.load %[[T:.*]][%[[ROW:.*]], %[[LO:.*]]] : memref<2x16xf32>, vector<16xf32>
// CHECK-NEXT:    %[[A:.*]] = sched.load %{{.*}}[%[[ROW]], %[[K:.*]]] : memref<2x4xf32>
// CHECK-NEXT:    %[[B:.*]] = vector.load %{{.*}}[%[[K]], %[[LO]]] : memref<4x16xf32>, vector<16xf32>
// CHECK-NEXT:    %[[AV:.*]] = vector.broadcast %[[A]] : f32 to vector<16xf32>
// CHECK-NEXT:    %[[P:.*]] = arith.mulf %[[AV]], %[[B]] : vector<16xf32>
// CHECK-NEXT:    %[[S:.*]] = arith.addf %[[ACC]], %[[P]] : vector<16xf32>
// CHECK-NEXT:    vector.store %[[S]], %[[T]][%[[ROW]], %[[LO]]] : memref<2x16xf32>, vector<16xf32>
func.func private @accumulate_0(%a: memref<2x4xf32>, %b: memref<4x16xf32>, %t: memref<2x16xf32>) {
  sched.for %k = 0 to 4 step 1 {
    %row = arith.constant 1 : index
    sched.for %n = 0 to 16 step 1 vectorize {
      %acc = sched.load %t[%row, %n] : memref<2x16xf32>
      %x = sched.load %a[%row, %k] : memref<2x4xf32>
      %y = sched.load %b[%k, %n] : memref<4x16xf32>
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %acc, %p : f32
      sched.store %s, %t[%row, %n] : memref<2x16xf32>
    }
  }
  func.return
}

// -----

// A comparison with a vector operand gives a vector of i1, and a select on it picks lanes.
// CHECK-LABEL: func.func private @leaky_0
// CHECK:         %[[V:.*]] = vector.load
// CHECK:         %[[ZV:.*]] = arith.constant dense<0.000000e+00> : vector<8xf32>
// CHECK-NEXT:    %[[NEG:.*]] = target.vector_cmpf "olt" %[[V]], %[[ZV]] : vector<8xf32> -> vector<8xi1>
// CHECK-NEXT:    %[[R:.*]] = target.vector_select %[[NEG]], %[[ZV]], %[[V]] : vector<8xi1>, vector<8xf32>
// CHECK-NEXT:    vector.store %[[R]]
func.func private @leaky_0(%x: memref<8xf32>, %y: memref<8xf32>) {
  sched.for %j = 0 to 8 step 1 vectorize {
    %v = sched.load %x[%j] : memref<8xf32>
    %zero = arith.constant 0.000000e+00 : f32
    %neg = arith.cmpf olt, %v, %zero : f32
    %r = arith.select %neg, %zero, %v : f32
    sched.store %r, %y[%j] : memref<8xf32>
  }
  func.return
}

// -----

// A flat position split by remui/divui stays contiguous when no lane crosses a multiple of
// the divisor, over every iteration of the enclosing loops (here 16 * jo + ji, 16 lanes, by
// 32): the remainder is linear, the quotient uniform. Split by 24 it could wrap.
// CHECK-LABEL: func.func private @split_0
// CHECK:         %[[LO:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[J:.*]] = arith.addi %[[LO]], %[[JO:.*]] : index
// CHECK-NEXT:    %[[D:.*]] = arith.constant 32 : index
// CHECK-NEXT:    %[[C:.*]] = arith.remui %[[J]], %[[D]] : index
// CHECK-NEXT:    %[[R:.*]] = arith.divui %[[J]], %[[D]] : index
// CHECK-NEXT:    %{{.*}} = vector.load %{{.*}}[%[[R]], %[[C]]] : memref<2x32xf32>, vector<16xf32>
// CHECK-LABEL: func.func private @wrap_0
// CHECK:         sched.for %{{.*}} = 0 to 16 step 1 {
func.func private @split_0(%x: memref<2x32xf32>, %y: memref<64xf32>) {
  sched.for %jo = 0 to 64 step 16 {
    sched.for %ji = 0 to 16 step 1 vectorize {
      %j = arith.addi %jo, %ji : index
      %d = arith.constant 32 : index
      %c = arith.remui %j, %d : index
      %r = arith.divui %j, %d : index
      %v = sched.load %x[%r, %c] : memref<2x32xf32>
      sched.store %v, %y[%j] : memref<64xf32>
    }
  }
  func.return
}
func.func private @wrap_0(%x: memref<3x24xf32>, %y: memref<64xf32>) {
  sched.for %jo = 0 to 64 step 16 {
    sched.for %ji = 0 to 16 step 1 vectorize {
      %j = arith.addi %jo, %ji : index
      %d = arith.constant 24 : index
      %c = arith.remui %j, %d : index
      %r = arith.divui %j, %d : index
      %v = sched.load %x[%r, %c] : memref<3x24xf32>
      sched.store %v, %y[%j] : memref<64xf32>
    }
  }
  func.return
}

// -----

// Loops that stay serial: a strided index, the row in a non-last dimension, a reduction
// into one element, a read of the written buffer at another index, a libm function, a loop
// with a loop inside, a cast of the index.
// CHECK-LABEL: func.func private @strided_0
// CHECK:         sched.for %{{.*}} = 0 to 8 step 1 {
// CHECK-LABEL: func.func private @column_0
// CHECK:         sched.for %{{.*}} = 0 to 8 step 1 {
// CHECK-LABEL: func.func private @sum_0
// CHECK:         sched.for %{{.*}} = 0 to 8 step 1 {
// CHECK-LABEL: func.func private @shift_in_place_0
// CHECK:         sched.for %{{.*}} = 0 to 8 step 1 {
// CHECK-LABEL: func.func private @tanh_0
// CHECK:         sched.for %{{.*}} = 0 to 8 step 1 {
// CHECK-LABEL: func.func private @outer_0
// CHECK:         sched.for %{{.*}} = 0 to 2 step 1 {
// CHECK:           vector.load
// CHECK-LABEL: func.func private @iota_0
// CHECK:         sched.for %{{.*}} = 0 to 8 step 1 {
// CHECK-NOT:   vectorize
// STATS:       (loops-not-vectorized) 7
// STATS-NEXT:  (loops-vectorized) 1
func.func private @strided_0(%x: memref<16xf32>, %y: memref<8xf32>) {
  sched.for %j = 0 to 8 step 1 vectorize {
    %two = arith.constant 2 : index
    %at = arith.muli %j, %two : index
    %v = sched.load %x[%at] : memref<16xf32>
    sched.store %v, %y[%j] : memref<8xf32>
  }
  func.return
}
func.func private @column_0(%x: memref<8x8xf32>, %y: memref<8xf32>) {
  sched.for %j = 0 to 8 step 1 vectorize {
    %c0 = arith.constant 0 : index
    %v = sched.load %x[%j, %c0] : memref<8x8xf32>
    sched.store %v, %y[%j] : memref<8xf32>
  }
  func.return
}
func.func private @sum_0(%x: memref<8xf32>, %y: memref<f32>) {
  sched.for %j = 0 to 8 step 1 vectorize {
    %v = sched.load %x[%j] : memref<8xf32>
    %s = sched.load %y[] : memref<f32>
    %t = arith.addf %s, %v : f32
    sched.store %t, %y[] : memref<f32>
  }
  func.return
}
func.func private @shift_in_place_0(%y: memref<9xf32>) {
  sched.for %j = 0 to 8 step 1 vectorize {
    %one = arith.constant 1 : index
    %next = arith.addi %j, %one : index
    %v = sched.load %y[%j] : memref<9xf32>
    sched.store %v, %y[%next] : memref<9xf32>
  }
  func.return
}
func.func private @tanh_0(%x: memref<8xf32>, %y: memref<8xf32>) {
  sched.for %j = 0 to 8 step 1 vectorize {
    %v = sched.load %x[%j] : memref<8xf32>
    %t = math.tanh %v : f32
    sched.store %t, %y[%j] : memref<8xf32>
  }
  func.return
}
func.func private @outer_0(%x: memref<2x8xf32>, %y: memref<2x8xf32>) {
  sched.for %i = 0 to 2 step 1 vectorize {
    sched.for %j = 0 to 8 step 1 vectorize {
      %v = sched.load %x[%i, %j] : memref<2x8xf32>
      sched.store %v, %y[%i, %j] : memref<2x8xf32>
    }
  }
  func.return
}
func.func private @iota_0(%y: memref<8xf32>) {
  sched.for %j = 0 to 8 step 1 vectorize {
    %n = arith.index_cast %j : index to i64
    %f = arith.sitofp %n : i64 to f32
    sched.store %f, %y[%j] : memref<8xf32>
  }
  func.return
}
