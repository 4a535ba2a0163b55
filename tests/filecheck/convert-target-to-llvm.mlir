// RUN: ziggurat-opt %s --split-input-file -p convert-target-to-llvm | filecheck %s
// RUN: ziggurat-opt %s --split-input-file -p convert-target-to-llvm -t llvm | filecheck %s --check-prefix=IR
// RUN: ziggurat-opt %s --split-input-file -p 'convert-target-to-llvm{parallel-runtime=serial}' | filecheck %s --check-prefix=SERIAL

// Kernels take noalias, aligned, dereferenceable pointers; loads go through one GEP over the
// row-major array of the inner dimensions (an index per dimension); index is i64; libm
// functions are declared once.
// CHECK:       llvm.target_triple = "x86_64-unknown-linux-gnu"
// CHECK:       llvm.func @tanhf(f32) -> f32
// CHECK-LABEL: llvm.func @twice_0
// CHECK-SAME:    (%[[X:.*]]: !llvm.ptr {llvm.noalias, llvm.align = 64 : i64, llvm.dereferenceable = 128 : i64}, %[[Y:.*]]: !llvm.ptr {{.*}})
// CHECK:       ^bb4:
// CHECK-NEXT:    %[[PTR:.*]] = llvm.getelementptr inbounds %[[X]][%[[I:.*]], %[[J:.*]]] : (!llvm.ptr, i64, i64) -> !llvm.ptr, !llvm.array<8 x f32>
// CHECK-NEXT:    %[[V:.*]] = llvm.load %[[PTR]] {alignment = 4 : i64} : !llvm.ptr -> f32
// CHECK-NEXT:    %[[D:.*]] = llvm.fadd %[[V]], %[[V]] {fastmathFlags = #llvm.fastmath<reassoc,contract>} : f32
// CHECK-NEXT:    %[[E:.*]] = llvm.call @tanhf(%[[D]]) : (f32) -> f32
// CHECK:         llvm.store %[[E]], %{{.*}} {alignment = 4 : i64} : f32, !llvm.ptr

// The entry loads each buffer from its table slot and calls the kernels.
// CHECK-LABEL: llvm.func @main
// CHECK-SAME:    (%[[TABLE:.*]]: !llvm.ptr)
// CHECK-NEXT:    %[[S0:.*]] = llvm.getelementptr %[[TABLE]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT:    %[[P0:.*]] = llvm.load %[[S0]] {alignment = 8 : i64} : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[S1:.*]] = llvm.getelementptr %[[TABLE]][1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT:    %[[P1:.*]] = llvm.load %[[S1]] {alignment = 8 : i64} : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    llvm.call @twice_0(%[[P0]], %[[P1]]) : (!llvm.ptr, !llvm.ptr) -> ()
// CHECK-NEXT:    llvm.return

// IR:       define void @"twice_0"(ptr noalias align 64 dereferenceable(128) %".1", ptr noalias align 64 dereferenceable(128) %".2")
// IR:         getelementptr inbounds [8 x float], ptr %".1", i64 %{{.*}}, i64
// IR:         fadd {{(contract reassoc|reassoc contract)}} float
// IR:       define void @"main"(ptr %".1")
// IR:         call ccc void @"twice_0"

builtin.module attributes {target.cpu = #target.cpu<"x86_64-unknown-linux-gnu", "skylake-avx512", "", 512, 2>} {
  target.kernel @twice_0(%x: memref<4x8xf32>, %y: memref<4x8xf32>) {
    %c0 = arith.constant 0 : index
    %c4 = arith.constant 4 : index
    %c8 = arith.constant 8 : index
    %c1 = arith.constant 1 : index
    scf.for %i = %c0 to %c4 step %c1 {
      scf.for %j = %c0 to %c8 step %c1 {
        %v = memref.load %x[%i, %j] : memref<4x8xf32>
        %d = arith.addf %v, %v : f32
        %e = math.tanh %d : f32
        memref.store %e, %y[%i, %j] : memref<4x8xf32>
      }
    }
    target.return
  }
  target.entry @main {
    %0 = target.buffer 0 input "x" : memref<4x8xf32>
    %1 = target.buffer 1 output "y" : memref<4x8xf32>
    target.launch @twice_0(%0, %1) : memref<4x8xf32>, memref<4x8xf32>
    target.return
  }
}

// -----

// Constants become internal LLVM globals; large scratch is heap memory freed on return.
// A parallel loop is outlined: the kernel stores the captured pointers into a context and
// calls GOMP_parallel with the target's cores capped by the calling thread's OpenMP thread
// count; stack scratch used only in the loop moves into the outlined function, so each thread
// has its own accumulator.
// CHECK-DAG:   llvm.func @GOMP_parallel(!llvm.ptr, !llvm.ptr, i32, i32)
// CHECK-DAG:   llvm.func @omp_get_max_threads() -> i32
// CHECK-DAG:   llvm.func @aligned_alloc(i64, i64) -> !llvm.ptr
// CHECK-DAG:   llvm.mlir.global internal constant @scale_0_constant0(dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>) {addr_space = 0 : i32, alignment = 64 : i64} : !llvm.array<4 x f32>
// CHECK-LABEL: llvm.func @scale_0
// CHECK-NEXT:    %[[N:.*]] = llvm.mlir.constant(4) : i64
// CHECK-NEXT:    %[[CTX:.*]] = llvm.alloca %[[N]] x !llvm.ptr
// CHECK:         %[[BIG:.*]] = llvm.call @aligned_alloc(%{{.*}}, %{{.*}}) : (i64, i64) -> !llvm.ptr
// CHECK:         %[[C:.*]] = llvm.mlir.addressof @scale_0_constant0 : !llvm.ptr
// CHECK:         llvm.store %{{.*}}, %{{.*}} {alignment = 8 : i64} : !llvm.ptr, !llvm.ptr
// CHECK:         %[[FN:.*]] = llvm.mlir.addressof @scale_0_par0 : !llvm.ptr
// CHECK-NEXT:    %[[CORES:.*]] = llvm.mlir.constant(2 : i32) : i32
// CHECK-NEXT:    %[[ALLOWED:.*]] = llvm.call @omp_get_max_threads() : () -> i32
// CHECK-NEXT:    %[[THREADS:.*]] = llvm.call_intrinsic "llvm.smin.i32"(%[[CORES]], %[[ALLOWED]])
// CHECK:         llvm.call @GOMP_parallel(%[[FN]], %[[CTX]], %[[THREADS]], %{{.*}})
// CHECK-NEXT:    llvm.call @free(%[[BIG]])
// CHECK-LABEL: llvm.func internal @scale_0_par0
// CHECK:         llvm.alloca %{{.*}} x f32
// CHECK:         llvm.call @omp_get_thread_num()
// CHECK:         llvm.call @omp_get_num_threads()
// CHECK:         llvm.call_intrinsic "llvm.smin.i64"
// SERIAL-LABEL: llvm.func @scale_0
// SERIAL-NOT:     GOMP_parallel
builtin.module attributes {target.cpu = #target.cpu<"x86_64-unknown-linux-gnu", "skylake-avx512", "", 512, 2>} {
  "memref.global"() <{sym_name = "scale_0_constant0", sym_visibility = "private", type = memref<4xf32>, initial_value = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>, constant, alignment = 64 : i64}> : () -> ()
  target.kernel @scale_0(%x: memref<64x4xf32>, %y: memref<64x4xf32>) {
    %acc = memref.alloca() {alignment = 64 : i64} : memref<f32>
    %big = memref.alloc() {alignment = 64 : i64} : memref<64x4xf32>
    %c = memref.get_global @scale_0_constant0 : memref<4xf32>
    %c0 = arith.constant 0 : index
    %c64 = arith.constant 64 : index
    %c4 = arith.constant 4 : index
    %c1 = arith.constant 1 : index
    scf.for %i = %c0 to %c64 step %c1 {
      scf.for %j = %c0 to %c4 step %c1 {
        %v = memref.load %x[%i, %j] : memref<64x4xf32>
        %s = memref.load %c[%j] : memref<4xf32>
        %p = arith.mulf %v, %s : f32
        memref.store %p, %acc[] : memref<f32>
        %q = memref.load %acc[] : memref<f32>
        memref.store %q, %big[%i, %j] : memref<64x4xf32>
        memref.store %q, %y[%i, %j] : memref<64x4xf32>
      }
    } {sched.kind = "parallel"}
    memref.dealloc %big : memref<64x4xf32>
    target.return
  }
}

// -----

// Vector accesses are a GEP to their first element and a load or store of the vector type,
// aligned to one element; a broadcast is insertelement plus a zero-mask shufflevector;
// splat constants, arithmetic, intrinsics, compares and selects work on vector types.
// CHECK-LABEL: llvm.func @vector_ops_0
// CHECK:         %[[P:.*]] = llvm.getelementptr inbounds %{{.*}}[%{{.*}}, %{{.*}}] : (!llvm.ptr, i64, i64) -> !llvm.ptr, !llvm.array<8 x f32>
// CHECK-NEXT:    %[[V:.*]] = llvm.load %[[P]] {alignment = 4 : i64} : !llvm.ptr -> vector<8xf32>
// CHECK:         %[[S:.*]] = llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr -> f32
// CHECK-NEXT:    %[[E:.*]] = llvm.mlir.undef : vector<8xf32>
// CHECK-NEXT:    %[[L0:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK-NEXT:    %[[I:.*]] = llvm.insertelement %[[S]], %[[E]][%[[L0]] : i32] : vector<8xf32>
// CHECK-NEXT:    %[[SV:.*]] = llvm.shufflevector %[[I]], %[[I]] [0, 0, 0, 0, 0, 0, 0, 0] : vector<8xf32>
// CHECK-NEXT:    %[[M:.*]] = llvm.fmul %[[V]], %[[SV]] {fastmathFlags = #llvm.fastmath<{{.*}}>} : vector<8xf32>
// CHECK-NEXT:    %[[Z:.*]] = llvm.mlir.constant(dense<0.000000e+00> : vector<8xf32>) : vector<8xf32>
// CHECK-NEXT:    %[[X:.*]] = llvm.call_intrinsic "llvm.exp.v8f32"(%[[M]]) : (vector<8xf32>) -> vector<8xf32>
// CHECK-NEXT:    %[[C:.*]] = llvm.fcmp "olt" %[[X]], %[[Z]] : vector<8xf32>
// CHECK-NEXT:    %[[R:.*]] = llvm.select %[[C]], %[[Z]], %[[X]] : vector<8xi1>, vector<8xf32>
// CHECK:         %[[Q:.*]] = llvm.getelementptr inbounds %{{.*}}[%{{.*}}, %{{.*}}] : (!llvm.ptr, i64, i64) -> !llvm.ptr, !llvm.array<8 x f32>
// CHECK-NEXT:    %[[O:.*]] = llvm.bitcast %[[Q]] : !llvm.ptr to !llvm.ptr
// CHECK-NEXT:    llvm.store %[[R]], %[[O]] {alignment = 4 : i64} : vector<8xf32>, !llvm.ptr
// IR-LABEL:    define void @"vector_ops_0"
// IR:            load <8 x float>, ptr %{{.*}}, align 4
// IR:            shufflevector <8 x float> %{{.*}}, <8 x float> %{{.*}}, <8 x i32> <i32 0, i32 0
// IR:            fcmp olt <8 x float>
// IR:            select <8 x i1> %{{.*}}, <8 x float>
builtin.module attributes {target.cpu = #target.cpu<"x86_64-unknown-linux-gnu", "haswell", "", 256, 1>} {
  target.kernel @vector_ops_0(%x: memref<2x8xf32>, %s: memref<2xf32>, %y: memref<2x8xf32>) {
    %c1 = arith.constant 1 : index
    %c0 = arith.constant 0 : index
    %v = vector.load %x[%c1, %c0] : memref<2x8xf32>, vector<8xf32>
    %scale = memref.load %s[%c1] : memref<2xf32>
    %sv = vector.broadcast %scale : f32 to vector<8xf32>
    %m = arith.mulf %v, %sv : vector<8xf32>
    %zero = arith.constant dense<0.000000e+00> : vector<8xf32>
    %e = math.exp %m : vector<8xf32>
    %neg = target.vector_cmpf "olt" %e, %zero : vector<8xf32> -> vector<8xi1>
    %r = target.vector_select %neg, %zero, %e : vector<8xi1>, vector<8xf32>
    vector.store %r, %y[%c1, %c0] : memref<2x8xf32>, vector<8xf32>
    target.return
  }
}
