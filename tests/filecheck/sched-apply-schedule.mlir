// One RUN per schedule primitive, each on the same dense kernel (out = relu(x @ w + b)).
// RUN: ziggurat-opt %s -p "sched-apply-schedule{steps=\"split('i0', 4)\"}" | filecheck %s --check-prefix=SPLIT
// RUN: ziggurat-opt %s -p "sched-apply-schedule{steps=\"split('i1', 24)\"}" | filecheck %s --check-prefix=TAIL
// RUN: ziggurat-opt %s -p "sched-apply-schedule{steps=\"reorder('i1', 'i0')\"}" | filecheck %s --check-prefix=REORDER
// RUN: ziggurat-opt %s -p "sched-apply-schedule{steps=\"tile('i0', 'i1', 4, 16)\"}" | filecheck %s --check-prefix=TILE
// RUN: ziggurat-opt %s -p "sched-apply-schedule{steps=\"fuse('i0', 'i1')\"}" | filecheck %s --check-prefix=FUSE
// RUN: ziggurat-opt %s -p "sched-apply-schedule{steps=\"parallel('i0'); unroll('r0')\"}" | filecheck %s --check-prefix=KINDS
// RUN: ziggurat-opt %s -p "sched-apply-schedule{kernel=dense_0 steps=\"split('i1', 16); cache_write('i1.i'); reorder('r0', 'i1.i'); vectorize('i1.i')\"}" | filecheck %s --check-prefix=CACHE
// RUN: python -c "import numpy as n; n.savez('%t.npz', w=n.ones((32, 64), 'f4'), b=n.ones(64, 'f4'))"
// RUN: ziggurat-opt %s --params %t.npz -p "sched-apply-schedule{steps=\"pack(1, (1, 0))\"}" | filecheck %s --check-prefix=PACK
// RUN: ziggurat-opt %s --params %t.npz -p "sched-apply-schedule{steps=\"pack(1, (1, 0, 2), (1, 32))\"}" | filecheck %s --check-prefix=PANEL
// RUN: not ziggurat-opt %s --no-reproducer -p "sched-apply-schedule{steps=\"vectorize('r0')\"}" 2>&1 | filecheck %s --check-prefix=BAD
// RUN: not ziggurat-opt %s --no-reproducer -p "sched-apply-schedule{steps=\"spilt('i0', 4)\"}" 2>&1 | filecheck %s --check-prefix=UNKNOWN

// SPLIT:       sched.trace = "split('i0', 4)"
// SPLIT:       sched.for %[[O:.*]] = 0 to 8 step 4 {
// SPLIT-NEXT:    sched.for %[[I:.*]] = 0 to 4 step 1 {
// SPLIT-NEXT:      %{{.*}} = arith.addi %[[O]], %[[I]] : index
// SPLIT:         } {sched.name = "i0.i"}
// SPLIT-NEXT:  } {sched.name = "i0.o"}

// 64 = 2 * 24 + 16: the remainder runs in a copy of the nest.
// TAIL:        sched.for %{{.*}} = 0 to 48 step 24 {
// TAIL:        } {sched.name = "i0"}
// TAIL:        sched.for %{{.*}} = 0 to 8 step 1 {
// TAIL-NEXT:     sched.for %{{.*}} = 48 to 64 step 1 {
// TAIL:        } {sched.name = "i0.tail"}

// REORDER:     sched.for %[[J:.*]] = 0 to 64 step 1 {
// REORDER-NEXT:  sched.for %[[I:.*]] = 0 to 8 step 1 {
// REORDER:         sched.load %x[%[[I]], %{{.*}}]
// REORDER:       } {sched.name = "i0"}
// REORDER-NEXT:} {sched.name = "i1"}

// TILE:        sched.for %{{.*}} = 0 to 8 step 4 {
// TILE-NEXT:     sched.for %{{.*}} = 0 to 64 step 16 {
// TILE-NEXT:       sched.for %{{.*}} = 0 to 4 step 1 {
// TILE-NEXT:         sched.for %{{.*}} = 0 to 16 step 1 {

// FUSE:        sched.for %[[F:.*]] = 0 to 512 step 1 {
// FUSE:          arith.divui %[[F]]
// FUSE:          arith.remui %[[F]]
// FUSE:        } {sched.name = "i0.i1"}

// KINDS:       step 1 parallel {
// KINDS:       step 1 unroll {

// The accumulator becomes a 16-wide local tile; the reduction moves outside the tile.
// CACHE:       %[[T:.*]] = sched.alloc : memref<16xf32>
// CACHE:       sched.for %{{.*}} = 0 to 16 step 1 {
// CACHE:         sched.store %{{.*}}, %[[T]][%{{.*}}] : memref<16xf32>
// CACHE:       } {sched.name = "i1.i.init"}
// CACHE-NEXT:  sched.for %{{.*}} = 0 to 32 step 1 {
// CACHE-NEXT:    sched.for %{{.*}} = 0 to 16 step 1 vectorize {
// CACHE:       } {sched.axis = "reduce", sched.name = "r0"}
// CACHE-NEXT:  sched.for %{{.*}} = 0 to 16 step 1 {
// CACHE:         sched.load %[[T]]
// CACHE:       } {sched.name = "i1.i.store"}

// The weight is read transposed, and @main binds a packed copy of it.
// PACK:        func.func private @dense_0(%x: memref<8x32xf32>, %w: memref<64x32xf32>
// PACK:          sched.load %w[%{{.*}}, %{{.*}}] : memref<64x32xf32>
// PACK:        sched.param "w.packed_0" : memref<64x32xf32>

// Cut into panels of 32 columns: w[k, n] is read as w'[n / 32, k, n % 32].
// PANEL:       func.func private @dense_0(%x: memref<8x32xf32>, %w: memref<2x32x32xf32>
// PANEL:         %[[C:.*]] = arith.constant 32 : index
// PANEL-NEXT:    %[[O:.*]] = arith.divui %{{.*}}, %[[C]] : index
// PANEL-NEXT:    %[[I:.*]] = arith.remui %{{.*}}, %[[C]] : index
// PANEL-NEXT:    sched.load %w[%[[O]], %{{.*}}, %[[I]]] : memref<2x32x32xf32>
// PANEL:       sched.param "w.packed_0" : memref<2x32x32xf32>

// BAD:         cannot mark reduction loop 'r0' vectorize
// UNKNOWN:     unknown schedule primitive 'spilt'

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
