// RUN: ziggurat-opt %s -p 'sched-default-schedule{target="llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=skylake-avx512"}' | filecheck %s
// RUN: ziggurat-opt %s -p 'sched-default-schedule{target="llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=haswell"}' | filecheck %s --check-prefix=AVX2
// RUN: ziggurat-opt %s -p 'sched-default-schedule{target="llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=skylake-avx512"},sched-lower-unroll,sched-lower-vectorize' | filecheck %s --check-prefix=LOWERED

// AVX-512: a tile of 8 rows x 32 columns (2 registers of 16 lanes); the reduction runs
// outside the tile, whose rows and vectors are unrolled; the init and store nests stay loops.
// CHECK:       sched.trace = "split('i0', 8); split('i1', 32); reorder('i0.o', 'i1.o', 'i0.i', 'i1.i'); cache_write('i0.i', 'i1.i')
// CHECK:       %[[TILE:.*]] = sched.alloc : memref<8x32xf32>
// CHECK:       sched.for %{{.*}} = 0 to 32 step 1 {
// CHECK-NEXT:    sched.for %{{.*}} = 0 to 8 step 1 unroll {
// CHECK-NEXT:      sched.for %{{.*}} = 0 to 32 step 16 unroll {
// CHECK-NEXT:        sched.for %{{.*}} = 0 to 16 step 1 vectorize {
// CHECK:       } {sched.axis = "reduce", sched.name = "r0"}

// AVX2 has 16 registers of 8 lanes: 2 vectors of columns and up to 6 rows (4 divides 8).
// AVX2:        sched.trace = "split('i0', 4); split('i1', 16);
// AVX2:        sched.alloc : memref<4x16xf32>

// After the loop lowerings the hot loop is straight-line vector code over the tile.
// LOWERED:     sched.for %{{.*}} = 0 to 32 step 1 {
// LOWERED-NOT:   sched.for
// LOWERED:       vector.broadcast
// LOWERED:       arith.mulf %{{.*}}, %{{.*}} : vector<16xf32>
// LOWERED:     } {sched.axis = "reduce", sched.name = "r0"}
func.func private @dense_0(%x: memref<8x32xf32>, %w: memref<32x64xf32>, %b: memref<64xf32>, %y: memref<8x64xf32>) {
  %acc = sched.alloc : memref<f32>
  sched.for %i = 0 to 8 step 1 {
    sched.for %j = 0 to 64 step 1 {
      %zero = arith.constant 0.000000e+00 : f32
      sched.store %zero, %acc[] : memref<f32>
      sched.for %k = 0 to 32 step 1 {
        %a = sched.load %x[%i, %k] : memref<8x32xf32>
        %c = sched.load %w[%k, %j] : memref<32x64xf32>
        %p = arith.mulf %a, %c : f32
        %s = sched.load %acc[] : memref<f32>
        %n = arith.addf %s, %p : f32
        sched.store %n, %acc[] : memref<f32>
      } {sched.axis = "reduce"}
      %r = sched.load %acc[] : memref<f32>
      %bias = sched.load %b[%j] : memref<64xf32>
      %o = arith.addf %r, %bias : f32
      %z = arith.constant 0.000000e+00 : f32
      %m = arith.maximumf %o, %z : f32
      sched.store %m, %y[%i, %j] : memref<8x64xf32>
    }
  }
  func.return
}

func.func @main(%x: memref<8x32xf32>, %y: memref<8x64xf32> {sched.output}) {
  %w = sched.param "w" : memref<32x64xf32>
  %b = sched.param "b" : memref<64xf32>
  func.call @dense_0(%x, %w, %b, %y) : (memref<8x32xf32>, memref<32x64xf32>, memref<64xf32>, memref<8x64xf32>) -> ()
  func.return
}

// A selector loop: %e only picks a formula (e % 2 == 0 ? v : -v) and indexes the store. It
// is split by 2 and its inner part moved inside the vector loop and unrolled there, so each
// copy's select sees a constant and folds (sched-lower-unroll runs before the vectorizer).
// CHECK-LABEL: func.func private @select_0
// CHECK:       sched.trace = "split('i0', 2); split('i2', 16); reorder('i0.o', 'i1', 'i2.o', 'i2.i', 'i0.i'); unroll('i0.i'); vectorize('i2.i')"
func.func private @select_0(%x: memref<8x32xf32>, %y: memref<4x8x32xf32>) {
  sched.for %e = 0 to 4 step 1 {
    sched.for %t = 0 to 8 step 1 {
      sched.for %c = 0 to 32 step 1 {
        %v = sched.load %x[%t, %c] : memref<8x32xf32>
        %two = arith.constant 2 : index
        %p = arith.remui %e, %two : index
        %zero = arith.constant 0 : index
        %even = arith.cmpi eq, %p, %zero : index
        %n = arith.negf %v : f32
        %r = arith.select %even, %v, %n : f32
        sched.store %r, %y[%e, %t, %c] : memref<4x8x32xf32>
      }
    }
  }
  func.return
}

// A remui that feeds an index (a reshape's flat position) does not make a selector.
// CHECK-LABEL: func.func private @reshape_0
// CHECK:       sched.trace = "split('i2', 16); vectorize('i2.i')"
func.func private @reshape_0(%x: memref<2x2x8x32xf32>, %y: memref<4x8x32xf32>) {
  sched.for %e = 0 to 4 step 1 {
    sched.for %t = 0 to 8 step 1 {
      sched.for %c = 0 to 32 step 1 {
        %two = arith.constant 2 : index
        %lo = arith.remui %e, %two : index
        %hi = arith.divui %e, %two : index
        %v = sched.load %x[%hi, %lo, %t, %c] : memref<2x2x8x32xf32>
        sched.store %v, %y[%e, %t, %c] : memref<4x8x32xf32>
      }
    }
  }
  func.return
}

// A row reduction and the elementwise nest that reads it per row (softmax's first stages):
// merged level by level with compute_at into one nest over the rows, whose elementwise
// loop is vectorized; a GEMM-like nest would keep its own nest and tile.
// CHECK-LABEL: func.func private @row_max_0
// CHECK:       sched.trace = "compute_at('i0', 'i1'); split('i2', 16); vectorize('i2.i')"
func.func private @row_max_0(%x: memref<8x32xf32>, %y: memref<8x32xf32>) {
  %m = sched.alloc : memref<8xf32>
  %acc = sched.alloc : memref<f32>
  sched.for %i = 0 to 8 step 1 {
    %init = arith.constant 0xFF800000 : f32
    sched.store %init, %acc[] : memref<f32>
    sched.for %k = 0 to 32 step 1 {
      %v = sched.load %x[%i, %k] : memref<8x32xf32>
      %a = sched.load %acc[] : memref<f32>
      %n = arith.maximumf %a, %v : f32
      sched.store %n, %acc[] : memref<f32>
    } {sched.axis = "reduce"}
    %r = sched.load %acc[] : memref<f32>
    sched.store %r, %m[%i] : memref<8xf32>
  }
  sched.for %i2 = 0 to 8 step 1 {
    sched.for %j = 0 to 32 step 1 {
      %v = sched.load %x[%i2, %j] : memref<8x32xf32>
      %mx = sched.load %m[%i2] : memref<8xf32>
      %d = arith.subf %v, %mx : f32
      sched.store %d, %y[%i2, %j] : memref<8x32xf32>
    }
  }
  func.return
}
